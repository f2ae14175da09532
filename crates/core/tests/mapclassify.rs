//! Every classification method against mapclassify on several data sets: irregular values,
//! ties and negatives, fewer values than classes, constant values, a skewed sample of 60.

use quartier_core::classify::{Method, classify};

mod cases {
    use quartier_core::classify::Method;
    // Generated with mapclassify 2.10.0 / numpy 2.4.6 (tmp script gen_mc.py in the session log):
    // for each data set and method, mapclassify's bins, counts and yb, or ERR where it raises.
    pub const DATA: &[(&str, &[f64])] = &[
        ("irregular", &[1.2, 3.4, 3.4, 5.0, 7.7, 8.1, 12.5, 13.0, 20.2, 45.0, 46.1, 80.3]),
        ("ties_negative", &[-5.0, -5.0, -2.5, 0.0, 0.0, 0.0, 1.0, 1.0, 2.5, 3.0, 10.0, 10.0, 10.0, 12.0]),
        ("n_below_k", &[3.0, 1.0, 2.0]),
        ("constant", &[4.0, 4.0, 4.0, 4.0]),
        (
            "skewed60",
            &[
                7.396, 9.384, 5.934, 3.624, 5.136, 3.342, 7.753, 21.589, 4.984, 4.498, 10.934, 9.831, 8.039, 3.51, 7.218, 12.887, 2.521,
                5.124, 1.614, 2.634, 1.693, 6.122, 2.681, 9.18, 8.376, 6.363, 0.987, 4.802, 7.108, 8.09, 2.173, 5.042, 3.378, 3.869,
                17.266, 3.873, 7.199, 14.992, 4.633, 6.757, 8.072, 7.776, 2.773, 7.853, 21.913, 2.143, 14.695, 8.129, 4.423, 36.61, 13.596,
                2.831, 7.843, 11.721, 6.353, 12.76, 7.006, 12.601, 23.355, 4.304,
            ],
        ),
    ];
    /// mapclassify's (bins, counts, yb), or `None` where it raises.
    pub type Expected = Option<(Vec<f64>, Vec<usize>, Vec<usize>)>;

    pub fn cases() -> Vec<(&'static str, Method, Expected)> {
        vec![
            (
                "irregular",
                Method::Quantiles { k: 5, type9: false },
                Some((vec![3.72, 7.86, 12.8, 40.04000000000001, 80.3], vec![3, 2, 2, 2, 3], vec![0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4])),
            ),
            (
                "irregular",
                Method::EqualInterval { k: 5 },
                Some((
                    vec![17.02, 32.839999999999996, 48.66, 64.47999999999999, 80.3],
                    vec![8, 1, 2, 0, 1],
                    vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 4],
                )),
            ),
            (
                "irregular",
                Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                Some((
                    vec![-28.002566042601007, -3.7554496879671717, 44.7387830213005, 68.98589937593434, 80.3],
                    vec![0, 0, 9, 2, 1],
                    vec![2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4],
                )),
            ),
            (
                "irregular",
                Method::FisherJenks { k: 5 },
                Some((vec![5.0, 13.0, 20.2, 46.1, 80.3], vec![4, 4, 1, 2, 1], vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 3, 4])),
            ),
            (
                "irregular",
                Method::JenksCaspall { k: 5 },
                Some((vec![5.0, 8.1, 13.0, 20.2, 80.3], vec![4, 2, 2, 1, 3], vec![0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 4])),
            ),
            (
                "irregular",
                Method::BoxPlot { hinge: 1.5 },
                Some((
                    vec![-28.099999999999994, 4.6, 10.3, 26.4, 59.099999999999994, 80.3],
                    vec![0, 3, 3, 3, 2, 1],
                    vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5],
                )),
            ),
            (
                "irregular",
                Method::HeadTail,
                Some((vec![20.491666666666664, 57.133333333333326, 80.3], vec![9, 2, 1], vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2])),
            ),
            (
                "irregular",
                Method::MaxBreaks { k: 5 },
                Some((vec![10.3, 16.6, 32.6, 63.2, 80.3], vec![6, 2, 1, 2, 1], vec![0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 4])),
            ),
            (
                "irregular",
                Method::User { breaks: vec![0.0, 10.0] },
                Some((vec![0.0, 10.0, 80.3], vec![0, 6, 6], vec![1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])),
            ),
            (
                "ties_negative",
                Method::Quantiles { k: 5, type9: false },
                Some((
                    vec![-0.9999999999999998, 0.20000000000000018, 2.1999999999999997, 10.0, 12.0],
                    vec![3, 3, 2, 5, 1],
                    vec![0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4],
                )),
            ),
            (
                "ties_negative",
                Method::EqualInterval { k: 5 },
                Some((
                    vec![-1.6, 1.7999999999999998, 5.199999999999999, 8.6, 12.0],
                    vec![3, 5, 2, 0, 4],
                    vec![0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 4, 4, 4, 4],
                )),
            ),
            (
                "ties_negative",
                Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                Some((
                    vec![-8.72124674362934, -3.0391948003860985, 8.324909086100384, 14.006961029343625],
                    vec![0, 2, 8, 4],
                    vec![1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3],
                )),
            ),
            (
                "ties_negative",
                Method::FisherJenks { k: 5 },
                Some((vec![-5.0, -2.5, 1.0, 3.0, 12.0], vec![2, 1, 5, 2, 4], vec![0, 0, 1, 2, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4])),
            ),
            (
                "ties_negative",
                Method::JenksCaspall { k: 5 },
                Some((vec![-2.5, 0.0, 3.0, 10.0, 12.0], vec![3, 3, 4, 3, 1], vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4])),
            ),
            (
                "ties_negative",
                Method::BoxPlot { hinge: 1.5 },
                Some((vec![-12.375, 0.0, 1.0, 8.25, 20.625], vec![0, 6, 2, 2, 4], vec![1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4])),
            ),
            (
                "ties_negative",
                Method::HeadTail,
                Some((vec![2.642857142857143, 9.0, 10.5, 12.0], vec![9, 1, 3, 1], vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 3])),
            ),
            (
                "ties_negative",
                Method::MaxBreaks { k: 5 },
                Some((vec![-3.75, -1.25, 6.5, 11.0, 12.0], vec![2, 1, 7, 3, 1], vec![0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4])),
            ),
            (
                "ties_negative",
                Method::User { breaks: vec![0.0, 10.0] },
                Some((vec![0.0, 10.0, 12.0], vec![6, 7, 1], vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2])),
            ),
            (
                "n_below_k",
                Method::Quantiles { k: 5, type9: false },
                Some((vec![1.4, 1.8, 2.2, 2.6, 3.0], vec![1, 0, 1, 0, 1], vec![4, 0, 2])),
            ),
            (
                "n_below_k",
                Method::EqualInterval { k: 5 },
                Some((vec![1.4, 1.7999999999999998, 2.1999999999999997, 2.5999999999999996, 3.0], vec![1, 0, 1, 0, 1], vec![4, 0, 2])),
            ),
            (
                "n_below_k",
                Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                Some((vec![0.0, 1.0, 3.0, 4.0], vec![0, 1, 2, 0], vec![2, 1, 2])),
            ),
            ("n_below_k", Method::FisherJenks { k: 5 }, None),
            // n_below_k / JenksCaspall { k: 5 }: mapclassify does not terminate (no entry)
            ("n_below_k", Method::BoxPlot { hinge: 1.5 }, Some((vec![0.0, 1.5, 2.0, 2.5, 4.0], vec![0, 1, 1, 0, 1], vec![4, 1, 2]))),
            ("n_below_k", Method::HeadTail, Some((vec![2.0, 3.0], vec![2, 1], vec![1, 0, 0]))),
            ("n_below_k", Method::MaxBreaks { k: 5 }, None),
            ("n_below_k", Method::User { breaks: vec![0.0, 10.0] }, Some((vec![0.0, 10.0], vec![0, 3], vec![1, 1, 1]))),
            ("constant", Method::Quantiles { k: 5, type9: false }, Some((vec![4.0], vec![4], vec![0, 0, 0, 0]))),
            ("constant", Method::EqualInterval { k: 5 }, None),
            (
                "constant",
                Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                Some((vec![4.0, 4.0, 4.0, 4.0], vec![4, 0, 0, 0], vec![0, 0, 0, 0])),
            ),
            ("constant", Method::FisherJenks { k: 5 }, None),
            ("constant", Method::JenksCaspall { k: 5 }, Some((vec![4.0], vec![4], vec![0, 0, 0, 0]))),
            ("constant", Method::BoxPlot { hinge: 1.5 }, Some((vec![4.0, 4.0, 4.0, 4.0, 4.0], vec![4, 0, 0, 0, 0], vec![0, 0, 0, 0]))),
            ("constant", Method::HeadTail, Some((vec![4.0], vec![4], vec![0, 0, 0, 0]))),
            ("constant", Method::MaxBreaks { k: 5 }, None),
            ("constant", Method::User { breaks: vec![0.0, 10.0] }, Some((vec![0.0, 10.0], vec![0, 4], vec![1, 1, 1, 1]))),
            (
                "skewed60",
                Method::Quantiles { k: 5, type9: false },
                Some((
                    vec![3.4836, 5.1312, 7.7622, 11.091400000000002, 36.61],
                    vec![12, 12, 12, 12, 12],
                    vec![
                        2, 3, 2, 1, 2, 0, 2, 4, 1, 1, 3, 3, 3, 1, 2, 4, 0, 1, 0, 0, 0, 2, 0, 3, 3, 2, 0, 1, 2, 3, 0, 1, 0, 1, 4, 1, 2, 4,
                        1, 2, 3, 3, 0, 3, 4, 0, 4, 3, 1, 4, 4, 0, 3, 4, 2, 4, 2, 4, 4, 1,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::EqualInterval { k: 5 },
                Some((
                    vec![8.1116, 15.236199999999998, 22.360799999999998, 29.485399999999995, 36.61],
                    vec![42, 13, 3, 1, 1],
                    vec![
                        0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1,
                        0, 0, 0, 0, 0, 0, 2, 0, 1, 1, 0, 4, 1, 0, 0, 1, 0, 1, 0, 1, 3, 0,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                Some((
                    vec![-4.523258446362763, 1.732479110151952, 14.243954223181383, 20.499691779696096, 36.61],
                    vec![0, 3, 50, 3, 4],
                    vec![
                        2, 2, 2, 2, 2, 2, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 1, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 3, 2, 2, 3,
                        2, 2, 2, 2, 2, 2, 4, 2, 3, 2, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 4, 2,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::FisherJenks { k: 5 },
                Some((
                    vec![5.136, 9.831, 17.266, 23.355, 36.61],
                    vec![25, 22, 9, 3, 1],
                    vec![
                        1, 1, 1, 0, 0, 0, 1, 3, 0, 0, 2, 1, 1, 0, 1, 2, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2, 0, 1, 2,
                        0, 1, 1, 1, 0, 1, 3, 0, 2, 1, 0, 4, 2, 0, 1, 2, 1, 2, 1, 2, 3, 0,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::JenksCaspall { k: 5 },
                Some((
                    vec![3.51, 5.136, 7.396, 10.934, 36.61],
                    vec![13, 12, 10, 13, 12],
                    vec![
                        2, 3, 2, 1, 1, 0, 3, 4, 1, 1, 3, 3, 3, 0, 2, 4, 0, 1, 0, 0, 0, 2, 0, 3, 3, 2, 0, 1, 2, 3, 0, 1, 0, 1, 4, 1, 2, 4,
                        1, 2, 3, 3, 0, 3, 4, 0, 4, 3, 1, 4, 4, 0, 3, 4, 2, 4, 2, 4, 4, 1,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::BoxPlot { hinge: 1.5 },
                Some((
                    vec![-4.166499999999999, 3.872, 6.8815, 9.231, 17.2695, 36.61],
                    vec![0, 15, 15, 15, 11, 4],
                    vec![
                        3, 4, 2, 1, 2, 1, 3, 5, 2, 2, 4, 4, 3, 1, 3, 4, 1, 2, 1, 1, 1, 2, 1, 3, 3, 2, 1, 2, 3, 3, 1, 2, 1, 1, 4, 2, 3, 4,
                        2, 2, 3, 3, 1, 3, 5, 1, 4, 3, 2, 5, 4, 1, 3, 4, 2, 4, 3, 4, 5, 2,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::HeadTail,
                Some((
                    vec![7.988216666666667, 14.00095238095238, 21.488571428571426, 25.86675, 36.61],
                    vec![39, 14, 3, 3, 1],
                    vec![
                        0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 2,
                        0, 0, 1, 0, 0, 0, 3, 0, 2, 1, 0, 4, 1, 0, 0, 1, 0, 1, 0, 1, 3, 0,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::MaxBreaks { k: 5 },
                Some((
                    vec![16.128999999999998, 19.4275, 22.634, 29.9825, 36.61],
                    vec![55, 1, 2, 1, 1],
                    vec![
                        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0,
                    ],
                )),
            ),
            (
                "skewed60",
                Method::User { breaks: vec![0.0, 10.0] },
                Some((
                    vec![0.0, 10.0, 36.61],
                    vec![0, 47, 13],
                    vec![
                        1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 2,
                        1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 1, 2, 2, 1, 1, 2, 1, 2, 1, 2, 2, 1,
                    ],
                )),
            ),
        ]
    }
}

#[test]
fn all_methods_match_mapclassify() {
    let mut checked = 0;
    for (set, method, expected) in cases::cases() {
        let y = cases::DATA.iter().find(|(n, _)| *n == set).unwrap().1;
        let got = classify(y, &method);
        match (got, expected) {
            (Ok(c), Some((bins, counts, yb))) => {
                assert_eq!(c.bins.len(), bins.len(), "{set} {method:?}: bins {:?} vs {bins:?}", c.bins);
                for (a, b) in c.bins.iter().zip(&bins) {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{set} {method:?}: bins {:?} vs {bins:?}", c.bins);
                }
                assert_eq!(c.counts, counts, "{set} {method:?}: counts");
                assert_eq!(c.yb, yb, "{set} {method:?}: yb");
            }
            (Err(_), None) => {}
            (got, expected) => panic!("{set} {method:?}: got {got:?}, mapclassify {expected:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn jenks_caspall_with_too_few_values_stops() {
    // mapclassify loops forever here; Quartier refuses clearly.
    assert!(classify(&[3.0, 1.0, 2.0], &Method::JenksCaspall { k: 5 }).is_err());
}
