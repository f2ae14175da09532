#!/usr/bin/env python3
"""Official-format deliveries for bench/bench.py, written from the published formats
(the Regionaldatenbank's GENESIS table CSV export as in data/official/12411-01-01-4.csv;
Destatis, "Das neue Flatfile CSV-Format (ffcsv) der Datenbank GENESIS-Online").
Deterministic (seeded); the numbers are made up.

  gen_official.py genesis OUT.csv              a Gemeinde table: ~11,000 rows x 54 columns,
                                               3 header rows, mixed levels, ISO-8859-1
  gen_official.py flat DIR N_AREAS YEARS VARS  areas.csv, long.csv and flat.csv (ffcsv,
                                               unsorted) holding the same values
"""
import os
import random
import sys

AGES = ["unter 3 Jahre", "3 bis unter 6 Jahre", "6 bis unter 10 Jahre", "10 bis unter 15 Jahre", "15 bis unter 18 Jahre",
        "18 bis unter 20 Jahre", "20 bis unter 25 Jahre", "25 bis unter 30 Jahre", "30 bis unter 35 Jahre", "35 bis unter 40 Jahre",
        "40 bis unter 45 Jahre", "45 bis unter 50 Jahre", "50 bis unter 55 Jahre", "55 bis unter 60 Jahre", "60 bis unter 65 Jahre",
        "65 bis unter 70 Jahre", "70 bis unter 75 Jahre", "75 bis unter 80 Jahre", "80 bis unter 85 Jahre", "85 bis unter 90 Jahre",
        "90 bis unter 95 Jahre", "95 Jahre und mehr", "unter 18 Jahre", "18 bis unter 65 Jahre", "65 Jahre und mehr", "Insgesamt"]


def genesis(out):
    rnd = random.Random(14)
    cols = 2 * len(AGES)  # 52 value columns: männlich/weiblich x 26 age groups
    lines = [
        "GENESIS-Tabelle: 12411-02-03-5",
        "Bevölkerungsstand: Bevölkerung nach Geschlecht und Altersgruppen" + ";" * (cols + 1),
        "- Stichtag 31.12. -" + ";" * (cols + 1),
        "regionale Tiefe: Gemeinden" + ";" * (cols + 1),
        "Fortschreibung des Bevölkerungsstandes" + ";" * (cols + 1),
        "Bevölkerungsstand (Anzahl)" + ";" * (cols + 1),
        ";;" + ";".join(["31.12.2023"] * cols),
        ";;" + ";".join(["männlich"] * len(AGES) + ["weiblich"] * len(AGES)),
        ";;" + ";".join(AGES * 2),
    ]

    def row(key, name, depth, scale):
        vals = []
        for _ in range(cols):
            r = rnd.random()
            vals.append("." if r < 0.01 else "-" if r < 0.02 else str(int(rnd.random() * scale)))
        return f"{key};{'  ' * depth}{name};" + ";".join(vals)

    lines.append(row("DG", "Deutschland", 0, 4_000_000))
    n = 0
    for land in range(1, 17):
        lines.append(row(f"{land:02d}", f"Land {land}", 1, 400_000))
        for kreis in range(1, 26):
            k = f"{land:02d}{kreis:03d}"
            if kreis == 1 and land % 4 == 0:
                lines.append(row(f"{land:02d}{kreis % 10}", f"Region {land}", 2, 100_000))
            lines.append(row(k, f"Kreis {k}, Landkreis", 2, 40_000))
            for g in range(1, 27 if (land + kreis) % 2 else 28):
                lines.append(row(f"{k}{g:03d}", f"Gemeinde {k}{g:03d}", 3, 2_000))
                n += 1
    lines += ["__________", '"© Statistische Ämter des Bundes und der Länder, Deutschland, 2024."', "Stand: 10.06.2024 / 10:15:12"]
    with open(out, "w", encoding="latin-1", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} lines, {n} Gemeinden")


def flat(d, n_areas, years, nvars):
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(15)
    keys = []
    for i in range(n_areas):
        land, j = i // 800 + 1, i % 800
        keys.append(f"{land:02d}{j // 40 + 1:03d}{j % 40 + 1:03d}")
    with open(os.path.join(d, "areas.csv"), "w", encoding="utf-8") as f:
        f.write("id;name\n")
        for k in keys:
            f.write(f"{k};Gemeinde {k}\n")
    rows = [(k, y, v, rnd.randrange(0, 5000)) for k in keys for y in range(2014, 2014 + years) for v in range(1, nvars + 1)]
    with open(os.path.join(d, "long.csv"), "w", encoding="utf-8") as f:
        f.write("area_id,year,indicator,value\n")
        for k, y, v, x in rows:
            f.write(f"{k},{y},merkmal_{v:02d},{x}\n")
    rnd.shuffle(rows)
    head = ("statistics_code;statistics_label;time_code;time_label;time;1_variable_code;1_variable_label;1_variable_attribute_code;"
            "1_variable_attribute_label;2_variable_code;2_variable_label;2_variable_attribute_code;2_variable_attribute_label;"
            "value;value_unit;value_variable_code;value_variable_label;value_q")
    with open(os.path.join(d, "flat.csv"), "w", encoding="utf-8") as f:
        f.write(head + "\n")
        for k, y, v, x in rows:
            f.write(f"12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;{y}-12-31;GEMEIN;Gemeinden;{k};Gemeinde {k};"
                    f"MERKM;Merkmal;MERKMAL{v:02d};Merkmal {v};{x};Anzahl;BEVSTD;Bevölkerungsstand;e\n")
    print(f"{len(rows)} values")


if __name__ == "__main__":
    if sys.argv[1] == "genesis":
        genesis(sys.argv[2])
    elif sys.argv[1] == "flat":
        flat(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
