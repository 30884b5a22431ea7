//! Per-school ordinary least squares (DESIGN §8): `finalScore ~ 1 + attendanceRate +
//! priorAverage + negativeIncidents`, fitted with `linfa-linear` on one school's students only.
//! Nothing here touches the database.

use linfa::{Dataset, traits::Fit};
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::Features;

/// The features, in the order of [`Features::values`].
pub const FEATURES: [&str; 3] = ["attendanceRate", "priorAverage", "negativeIncidents"];

/// The fewest students with every feature and a final score a model is trained on.
pub const MIN_STUDENTS: usize = 30;

/// How well a fit predicts a set of students.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Students in the set.
    pub n: usize,
    /// Coefficient of determination.
    pub r2: f64,
    /// Root mean squared error, in score points.
    pub rmse: f64,
    /// Mean absolute error, in score points.
    pub mae: f64,
}

/// A trained model: what is stored in `ml_models`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// (feature, coefficient) of the features kept.
    pub coefficients: Vec<(String, f64)>,
    /// The intercept.
    pub intercept: f64,
    /// Features dropped because they are constant in the school's data.
    pub dropped: Vec<String>,
    /// The fit on every usable student, measured on them.
    pub train: Metrics,
    /// A separate fit on 80% of them, measured on the other 20% (`None` when that fit is not
    /// possible: too few students or a feature constant within the 80%).
    pub holdout: Option<Metrics>,
}

/// Why no model was trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// Too few students with every feature and a final score.
    #[error(
        "{usable} students have a final score, prior grades and attendance; a model needs at least {MIN_STUDENTS}"
    )]
    TooFewStudents {
        /// How many there are.
        usable: usize,
    },
    /// Every feature is the same for every student.
    #[error("every feature has the same value for every student: there is nothing to learn from")]
    NothingToLearn,
    /// The solver failed.
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// A student's features and final score, when the student has them all.
fn usable(rows: &[Features]) -> Vec<(&Features, [f64; 3], f64)> {
    rows.iter()
        .filter_map(|r| Some((r, r.values()?, r.final_score?)))
        .collect()
}

/// Fits `y ~ 1 + x[kept]`, returning (coefficients of kept, intercept).
fn fit(x: &[[f64; 3]], y: &[f64], kept: &[usize]) -> Result<(Vec<f64>, f64), TrainError> {
    let matrix = Array2::from_shape_fn((x.len(), kept.len()), |(i, j)| x[i][kept[j]]);
    let dataset = Dataset::new(matrix, Array1::from(y.to_vec()));
    let model = LinearRegression::new()
        .fit(&dataset)
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    Ok((model.params().to_vec(), model.intercept()))
}

/// The prediction of a fit for one student's features.
pub fn predict(coefficients: &[(usize, f64)], intercept: f64, x: &[f64; 3]) -> f64 {
    intercept + coefficients.iter().map(|(j, c)| c * x[*j]).sum::<f64>()
}

fn metrics(
    x: &[[f64; 3]],
    y: &[f64],
    kept: &[usize],
    coefficients: &[f64],
    intercept: f64,
) -> Metrics {
    let pairs: Vec<(usize, f64)> = kept
        .iter()
        .copied()
        .zip(coefficients.iter().copied())
        .collect();
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let (mut ss_res, mut ss_tot, mut abs) = (0.0, 0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let e = yi - predict(&pairs, intercept, xi);
        ss_res += e * e;
        abs += e.abs();
        ss_tot += (yi - mean) * (yi - mean);
    }
    Metrics {
        n,
        r2: if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else {
            1.0
        },
        rmse: (ss_res / n as f64).sqrt(),
        mae: abs / n as f64,
    }
}

/// The features that vary among `x`.
fn varying(x: &[[f64; 3]]) -> Vec<usize> {
    (0..FEATURES.len())
        .filter(|j| {
            let first = x.first().map_or(0.0, |r| r[*j]);
            x.iter().any(|r| (r[*j] - first).abs() > 1e-12)
        })
        .collect()
}

/// Trains on `rows` (one school's students, in a stable order): every usable student for the
/// stored coefficients, and a deterministic 80/20 split (every fifth student held out) for the
/// holdout metrics.
pub fn train(rows: &[Features]) -> Result<Trained, TrainError> {
    let usable = usable(rows);
    if usable.len() < MIN_STUDENTS {
        return Err(TrainError::TooFewStudents {
            usable: usable.len(),
        });
    }
    let x: Vec<[f64; 3]> = usable.iter().map(|(_, x, _)| *x).collect();
    let y: Vec<f64> = usable.iter().map(|(_, _, y)| *y).collect();
    let kept = varying(&x);
    if kept.is_empty() {
        return Err(TrainError::NothingToLearn);
    }
    let (coefficients, intercept) = fit(&x, &y, &kept)?;
    let train = metrics(&x, &y, &kept, &coefficients, intercept);

    let (mut fit_x, mut fit_y, mut test_x, mut test_y) = (vec![], vec![], vec![], vec![]);
    for (i, (xi, yi)) in x.iter().zip(&y).enumerate() {
        if i % 5 == 4 {
            test_x.push(*xi);
            test_y.push(*yi);
        } else {
            fit_x.push(*xi);
            fit_y.push(*yi);
        }
    }
    let holdout = (varying(&fit_x) == kept)
        .then(|| fit(&fit_x, &fit_y, &kept).ok())
        .flatten()
        .map(|(c, b)| metrics(&test_x, &test_y, &kept, &c, b));

    Ok(Trained {
        coefficients: kept
            .iter()
            .zip(&coefficients)
            .map(|(j, c)| (FEATURES[*j].to_owned(), *c))
            .collect(),
        intercept,
        dropped: (0..FEATURES.len())
            .filter(|j| !kept.contains(j))
            .map(|j| FEATURES[j].to_owned())
            .collect(),
        train,
        holdout,
    })
}

#[cfg(test)]
mod tests {
    use entity::ids::StudentId;

    use super::*;

    fn row(i: usize, x: [f64; 3], y: Option<f64>) -> Features {
        Features {
            student: StudentId(uuid::Uuid::from_u128(i as u128)),
            attendance_rate: Some(x[0]),
            prior_average: Some(x[1]),
            negative_incidents: x[2],
            final_score: y,
        }
    }

    /// Deterministic, well spread features for student `i`.
    fn x(i: usize) -> [f64; 3] {
        [
            50.0 + ((i * 37) % 51) as f64,
            40.0 + ((i * 53) % 61) as f64,
            ((i * 7) % 6) as f64,
        ]
    }

    /// `b` solving the normal equations (XᵀX) b = Xᵀy with a column of ones, by Gaussian
    /// elimination with partial pivoting: independent of linfa's QR.
    #[allow(clippy::needless_range_loop)] // Row operations on a small matrix read best by index.
    fn normal_equations(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
        let k = x[0].len() + 1;
        let row = |r: &Vec<f64>| {
            std::iter::once(1.0)
                .chain(r.iter().copied())
                .collect::<Vec<_>>()
        };
        let mut a = vec![vec![0.0; k + 1]; k];
        for (xi, yi) in x.iter().zip(y) {
            let r = row(xi);
            for p in 0..k {
                for q in 0..k {
                    a[p][q] += r[p] * r[q];
                }
                a[p][k] += r[p] * yi;
            }
        }
        for c in 0..k {
            let pivot = (c..k)
                .max_by(|i, j| a[*i][c].abs().total_cmp(&a[*j][c].abs()))
                .unwrap();
            a.swap(c, pivot);
            for r in 0..k {
                if r != c {
                    let f = a[r][c] / a[c][c];
                    for q in c..=k {
                        a[r][q] -= f * a[c][q];
                    }
                }
            }
        }
        (0..k).map(|c| a[c][k] / a[c][c]).collect()
    }

    #[test]
    fn noise_free_coefficients_are_recovered() {
        let rows: Vec<Features> = (0..60)
            .map(|i| {
                let x = x(i);
                row(i, x, Some(12.0 + 0.5 * x[0] + 0.25 * x[1] - 1.5 * x[2]))
            })
            .collect();
        let t = train(&rows).unwrap();
        let expected = [
            ("attendanceRate", 0.5),
            ("priorAverage", 0.25),
            ("negativeIncidents", -1.5),
        ];
        for ((name, c), (want_name, want)) in t.coefficients.iter().zip(expected) {
            assert_eq!(name, want_name);
            assert!((c - want).abs() < 1e-9, "{name}: {c}");
        }
        assert!((t.intercept - 12.0).abs() < 1e-9, "{}", t.intercept);
        assert!(t.dropped.is_empty());
        assert!((t.train.r2 - 1.0).abs() < 1e-9 && t.train.rmse < 1e-9);
        let holdout = t.holdout.unwrap();
        assert_eq!((t.train.n, holdout.n), (60, 12));
        assert!(holdout.mae < 1e-9);
    }

    #[test]
    fn noisy_data_matches_the_normal_equations() {
        let rows: Vec<Features> = (0..80)
            .map(|i| {
                let x = x(i);
                let noise = (((i * 7919) % 23) as f64 - 11.0) * 0.7;
                row(
                    i,
                    x,
                    Some(20.0 + 0.4 * x[0] + 0.3 * x[1] - 2.0 * x[2] + noise),
                )
            })
            .collect();
        let t = train(&rows).unwrap();
        let xs: Vec<Vec<f64>> = (0..80).map(|i| x(i).to_vec()).collect();
        let ys: Vec<f64> = rows.iter().map(|r| r.final_score.unwrap()).collect();
        let b = normal_equations(&xs, &ys);
        assert!(
            (t.intercept - b[0]).abs() < 1e-6,
            "{} vs {}",
            t.intercept,
            b[0]
        );
        for (j, (_, c)) in t.coefficients.iter().enumerate() {
            assert!((c - b[j + 1]).abs() < 1e-6, "{c} vs {}", b[j + 1]);
        }
        // Metrics by their definitions.
        let pairs: Vec<(usize, f64)> = t
            .coefficients
            .iter()
            .enumerate()
            .map(|(j, (_, c))| (j, *c))
            .collect();
        let errors: Vec<f64> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| y - predict(&pairs, t.intercept, &[x[0], x[1], x[2]]))
            .collect();
        let mae = errors.iter().map(|e| e.abs()).sum::<f64>() / 80.0;
        assert!((t.train.mae - mae).abs() < 1e-12);
        assert!(t.train.r2 > 0.0 && t.train.r2 < 1.0);
    }

    #[test]
    fn a_constant_feature_is_dropped_and_reported() {
        let rows: Vec<Features> = (0..40)
            .map(|i| {
                let mut x = x(i);
                x[2] = 0.0;
                row(i, x, Some(5.0 + 0.6 * x[0] + 0.2 * x[1]))
            })
            .collect();
        let t = train(&rows).unwrap();
        assert_eq!(t.dropped, ["negativeIncidents"]);
        assert_eq!(t.coefficients.len(), 2);
        assert!((t.coefficients[0].1 - 0.6).abs() < 1e-9);
        assert!((t.intercept - 5.0).abs() < 1e-9);
    }

    #[test]
    fn too_few_students_is_a_clear_error() {
        let mut rows: Vec<Features> = (0..29).map(|i| row(i, x(i), Some(70.0))).collect();
        // Students without a final score, or without attendance, do not count.
        rows.push(row(99, x(99), None));
        rows.push(Features {
            attendance_rate: None,
            ..row(98, x(98), Some(60.0))
        });
        let e = train(&rows).unwrap_err();
        assert_eq!(e, TrainError::TooFewStudents { usable: 29 });
        assert!(e.to_string().starts_with("29 students"));
    }
}
