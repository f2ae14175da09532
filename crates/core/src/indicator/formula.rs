//! Indicator formulas: a small expression language over variables.
//!
//! Grammar (lowest precedence first):
//! `or` (`or`, `||`) · `and` (`and`, `&&`) · comparison (`< <= > >= == !=`) · `+ -` ·
//! `* /` · unary `-` · power `^` (right-associative) · atoms: numbers (`12`, `0.5`, `1e3`),
//! identifiers (`sgb2_u15`), calls `min(a, b, …)`, `max(…)`, `abs(x)`, `ln(x)`, `sqrt(x)`,
//! `if(condition, then, else)`, and parentheses. Comparisons yield 1 or 0.

use std::collections::BTreeSet;
use std::fmt;

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Min,
    Max,
    Abs,
    Ln,
    Sqrt,
    If,
}

/// A syntax error with its 1-based character position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zeichen {}: {}", self.position, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let v: f64 = text
                .parse()
                .map_err(|_| SyntaxError { position: pos, message: format!("„{text}“ ist keine Zahl (Dezimalpunkt verwenden)") })?;
            out.push((Tok::Num(v), pos));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), pos));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op2 = ["<=", ">=", "==", "!=", "&&", "||"].into_iter().find(|o| *o == two);
        if let Some(o) = op2 {
            out.push((Tok::Op(o), pos));
            i += 2;
            continue;
        }
        let tok = match c {
            '+' => Tok::Op("+"),
            '-' => Tok::Op("-"),
            '*' => Tok::Op("*"),
            '/' => Tok::Op("/"),
            '^' => Tok::Op("^"),
            '<' => Tok::Op("<"),
            '>' => Tok::Op(">"),
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            other => return Err(SyntaxError { position: pos, message: format!("unerwartetes Zeichen „{other}“") }),
        };
        out.push((tok, pos));
        i += 1;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }
    fn pos(&self) -> usize {
        self.toks[self.at].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.at].0.clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError { position: self.pos(), message: message.into() })
    }
    fn is_op(&self, ops: &[&str]) -> Option<&'static str> {
        match self.peek() {
            Tok::Op(o) if ops.contains(o) => Some(o),
            Tok::Ident(w) if ops.contains(&w.as_str()) => match w.as_str() {
                "and" => Some("and"),
                "or" => Some("or"),
                _ => None,
            },
            _ => None,
        }
    }
    fn binary(&mut self, ops: &[&str], next: fn(&mut Parser) -> Result<Expr, SyntaxError>) -> Result<Expr, SyntaxError> {
        let mut lhs = next(self)?;
        while let Some(o) = self.is_op(ops) {
            self.next();
            let rhs = next(self)?;
            lhs = Expr::Bin(op_of(o), Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    fn or(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(&["or", "||"], Parser::and)
    }
    fn and(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(&["and", "&&"], Parser::cmp)
    }
    fn cmp(&mut self) -> Result<Expr, SyntaxError> {
        let lhs = self.add()?;
        if let Some(o) = self.is_op(&["<", "<=", ">", ">=", "==", "!="]) {
            self.next();
            let rhs = self.add()?;
            return Ok(Expr::Bin(op_of(o), Box::new(lhs), Box::new(rhs)));
        }
        Ok(lhs)
    }
    fn add(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(&["+", "-"], Parser::mul)
    }
    fn mul(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(&["*", "/"], Parser::unary)
    }
    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_op(&["-"]).is_some() {
            self.next();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.is_op(&["+"]).is_some() {
            self.next();
            return self.unary();
        }
        self.pow()
    }
    fn pow(&mut self) -> Result<Expr, SyntaxError> {
        let base = self.atom()?;
        if self.is_op(&["^"]).is_some() {
            self.next();
            let exp = self.unary()?;
            return Ok(Expr::Bin(Op::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }
    fn atom(&mut self) -> Result<Expr, SyntaxError> {
        let pos = self.pos();
        match self.next() {
            Tok::Num(v) => Ok(Expr::Num(v)),
            Tok::LParen => {
                let e = self.or()?;
                if *self.peek() != Tok::RParen {
                    return self.err("„)“ fehlt");
                }
                self.next();
                Ok(e)
            }
            Tok::Ident(name) => {
                if *self.peek() != Tok::LParen {
                    if matches!(name.as_str(), "and" | "or") {
                        return Err(SyntaxError { position: pos, message: format!("„{name}“ an dieser Stelle unerwartet") });
                    }
                    return Ok(Expr::Var(name));
                }
                let func = match name.to_lowercase().as_str() {
                    "min" => Func::Min,
                    "max" => Func::Max,
                    "abs" => Func::Abs,
                    "ln" => Func::Ln,
                    "sqrt" => Func::Sqrt,
                    "if" | "wenn" => Func::If,
                    _ => {
                        return Err(SyntaxError {
                            position: pos,
                            message: format!("unbekannte Funktion „{name}“ (erlaubt: min, max, abs, ln, sqrt, if)"),
                        });
                    }
                };
                self.next();
                let mut args = Vec::new();
                if *self.peek() != Tok::RParen {
                    loop {
                        args.push(self.or()?);
                        match self.peek() {
                            Tok::Comma => {
                                self.next();
                            }
                            Tok::RParen => break,
                            _ => return self.err("„,“ oder „)“ erwartet"),
                        }
                    }
                }
                self.next();
                let arity_ok = match func {
                    Func::Min | Func::Max => !args.is_empty(),
                    Func::Abs | Func::Ln | Func::Sqrt => args.len() == 1,
                    Func::If => args.len() == 3,
                };
                if !arity_ok {
                    let want = match func {
                        Func::Min | Func::Max => "mindestens 1 Argument",
                        Func::If => "3 Argumente (Bedingung, dann, sonst)",
                        _ => "1 Argument",
                    };
                    return Err(SyntaxError { position: pos, message: format!("{name}() braucht {want}, hat {}", args.len()) });
                }
                Ok(Expr::Call(func, args))
            }
            Tok::End => Err(SyntaxError { position: pos, message: "Ausdruck endet unerwartet".into() }),
            Tok::RParen => Err(SyntaxError { position: pos, message: "„)“ ohne öffnende Klammer".into() }),
            Tok::Comma => Err(SyntaxError { position: pos, message: "„,“ an dieser Stelle unerwartet".into() }),
            Tok::Op(o) => Err(SyntaxError { position: pos, message: format!("„{o}“ an dieser Stelle unerwartet") }),
        }
    }
}

fn op_of(o: &str) -> Op {
    match o {
        "+" => Op::Add,
        "-" => Op::Sub,
        "*" => Op::Mul,
        "/" => Op::Div,
        "^" => Op::Pow,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "and" | "&&" => Op::And,
        _ => Op::Or,
    }
}

/// Parses a formula.
pub fn parse(src: &str) -> Result<Expr, SyntaxError> {
    if src.trim().is_empty() {
        return Err(SyntaxError { position: 1, message: "leere Formel".into() });
    }
    let mut p = Parser { toks: lex(src)?, at: 0 };
    let e = p.or()?;
    match p.peek() {
        Tok::End => {}
        Tok::Comma => return p.err("„,“ außerhalb einer Funktion (Dezimalzahlen mit Punkt schreiben: 3.5)"),
        _ => return p.err("Operator oder Ende erwartet"),
    }
    Ok(e)
}

impl Expr {
    /// Names of all variables (and indicator references) used.
    pub fn variables(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(v) => {
                out.insert(v.clone());
            }
            Expr::Neg(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect(out)),
        }
    }

    /// For a rate formula `c * a / b` (or `a / b * c`, `a / b`): the numerator `a` and the
    /// denominator `b`, constant factors left out. `None` for other shapes.
    pub fn ratio(&self) -> Option<(&Expr, &Expr)> {
        match self {
            Expr::Bin(Op::Div, n, d) => Some((strip_constant(n), d)),
            Expr::Bin(Op::Mul, a, b) => match (a.as_ref(), b.as_ref()) {
                (Expr::Num(_), inner) | (inner, Expr::Num(_)) => inner.ratio(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Evaluates with variable values from `get`; `None` if a variable has no value (all
    /// variables are required, as in the evaluation over areas). Uses [`Compiled::eval`], so
    /// both paths share one definition of every operator.
    pub fn eval(&self, get: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        let vars: Vec<String> = self.variables().into_iter().collect();
        let values: Vec<f64> = vars.iter().map(|v| get(v)).collect::<Option<_>>()?;
        let prog = self.compile(&|name| vars.iter().position(|v| v == name).expect("variable collected above"));
        Some(prog.eval(&values))
    }
}

/// A formula with variables resolved to slots, for fast evaluation over many areas.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    Num(f64),
    Slot(usize),
    Neg(Box<Compiled>),
    Bin(Op, Box<Compiled>, Box<Compiled>),
    Call(Func, Vec<Compiled>),
}

impl Expr {
    /// Resolves variables to slots with `slot`.
    pub fn compile(&self, slot: &dyn Fn(&str) -> usize) -> Compiled {
        match self {
            Expr::Num(v) => Compiled::Num(*v),
            Expr::Var(v) => Compiled::Slot(slot(v)),
            Expr::Neg(e) => Compiled::Neg(Box::new(e.compile(slot))),
            Expr::Bin(op, a, b) => Compiled::Bin(*op, Box::new(a.compile(slot)), Box::new(b.compile(slot))),
            Expr::Call(f, args) => Compiled::Call(*f, args.iter().map(|a| a.compile(slot)).collect()),
        }
    }
}

impl Compiled {
    /// Evaluates with the slot values of one area.
    pub fn eval(&self, v: &[f64]) -> f64 {
        let t = |c: bool| if c { 1.0 } else { 0.0 };
        match self {
            Compiled::Num(x) => *x,
            Compiled::Slot(i) => v[*i],
            Compiled::Neg(e) => -e.eval(v),
            Compiled::Bin(op, a, b) => {
                let (x, y) = (a.eval(v), b.eval(v));
                match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div => x / y,
                    Op::Pow => x.powf(y),
                    Op::Lt => t(x < y),
                    Op::Le => t(x <= y),
                    Op::Gt => t(x > y),
                    Op::Ge => t(x >= y),
                    Op::Eq => t(x == y),
                    Op::Ne => t(x != y),
                    Op::And => t(x != 0.0 && y != 0.0),
                    Op::Or => t(x != 0.0 || y != 0.0),
                }
            }
            Compiled::Call(f, args) => match f {
                Func::Min => args.iter().map(|a| a.eval(v)).fold(f64::INFINITY, f64::min),
                Func::Max => args.iter().map(|a| a.eval(v)).fold(f64::NEG_INFINITY, f64::max),
                Func::Abs => args[0].eval(v).abs(),
                Func::Ln => args[0].eval(v).ln(),
                Func::Sqrt => args[0].eval(v).sqrt(),
                Func::If => {
                    if args[0].eval(v) != 0.0 {
                        args[1].eval(v)
                    } else {
                        args[2].eval(v)
                    }
                }
            },
        }
    }
}

fn strip_constant(e: &Expr) -> &Expr {
    match e {
        Expr::Bin(Op::Mul, a, b) => match (a.as_ref(), b.as_ref()) {
            (Expr::Num(_), inner) | (inner, Expr::Num(_)) => strip_constant(inner),
            _ => e,
        },
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check(src: &str, vars: &[(&str, f64)], expected: Option<f64>) {
        let e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        let m: HashMap<&str, f64> = vars.iter().copied().collect();
        let got = e.eval(&|v| m.get(v).copied());
        match (got, expected) {
            (Some(g), Some(x)) => assert!((g - x).abs() < 1e-12 || (g.is_nan() && x.is_nan()), "{src} = {g}, expected {x}"),
            (g, x) => assert_eq!(g, x, "{src}"),
        }
    }

    #[test]
    fn evaluates() {
        check("100 * a / b", &[("a", 3.0), ("b", 12.0)], Some(25.0));
        check("1 + 2 * 3", &[], Some(7.0));
        check("(1 + 2) * 3", &[], Some(9.0));
        check("2 ^ 3 ^ 2", &[], Some(512.0));
        check("-2 ^ 2", &[], Some(-4.0));
        check("10 - 3 - 2", &[], Some(5.0));
        check("min(a, 3, 7) + max(1, b)", &[("a", 5.0), ("b", 9.0)], Some(12.0));
        check("abs(-2.5) + sqrt(16) + ln(1)", &[], Some(6.5));
        check("if(a >= 30, 100 * b / a, 0)", &[("a", 20.0), ("b", 5.0)], Some(0.0));
        check("wenn(a > 1 and b < 2 || 0, 1, 2)", &[("a", 2.0), ("b", 1.0)], Some(1.0));
        check("1.5e2 + .5", &[], Some(150.5));
        check("a / b", &[("a", 1.0)], None);
    }

    fn err(src: &str, pos: usize, contains: &str) {
        let e = parse(src).unwrap_err();
        assert_eq!(e.position, pos, "{src}: {e}");
        assert!(e.message.contains(contains), "{src}: {e}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        err("100 * (a / b", 13, "„)“ fehlt");
        err("100 * / b", 7, "„/“ an dieser Stelle");
        err("a b", 3, "Operator oder Ende");
        err("foo(a)", 1, "unbekannte Funktion „foo“");
        err("if(a, b)", 1, "3 Argumente");
        err("a # b", 3, "unerwartetes Zeichen „#“");
        err("", 1, "leere Formel");
        err("3,5 * a", 2, "„,“");
    }

    #[test]
    fn finds_ratio_parts() {
        let e = parse("100 * sgb2_u15 / pop_u15").unwrap();
        let (n, d) = e.ratio().unwrap();
        assert_eq!((n, d), (&Expr::Var("sgb2_u15".into()), &Expr::Var("pop_u15".into())));
        let e = parse("(a + b) / c * 1000").unwrap();
        assert_eq!(e.ratio().unwrap().1, &Expr::Var("c".into()));
        assert!(parse("a + b").unwrap().ratio().is_none());
        assert_eq!(parse("100 * a / b").unwrap().variables().into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }
}
