//! Thresholds and timings of KMS activation (§8), as the default `params` of an analysis.
//! Every value can be overridden with `--set NAME=VALUE`.

/// (name, default, meaning). Only what the analysis itself assumes: the counts a product needs and
/// the clients' retry and renewal intervals are not parameters, because every 12288 carries its
/// minimum count and every 12289 its intervals.
pub const DEFAULTS: [(&str, f64, &str); 5] = [
    (
        "skew_minutes",
        240.0,
        "largest client/host clock difference KMS accepts (4 hours, UTC); KMS-CLOCK-SKEW",
    ),
    (
        "response_window_minutes",
        10.0,
        "a 12289 later than this after its 12288 is not its response (correlation)",
    ),
    (
        "match_window_minutes",
        10.0,
        "a host 12290 this far from the client's 12288 can still be the same request (correlation, KMS-LOG-COVERAGE)",
    ),
    (
        "client_time_match_minutes",
        2.0,
        "12288 and 12290 of one request carry the same client time, to this precision (correlation)",
    ),
    (
        "count_window_days",
        30.0,
        "a host counts the machines of its last 30 days: KMS-SPLIT-COUNT counts the fleet over this window",
    ),
];

/// Resolved parameters: the defaults with the user's overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    values: Vec<(String, f64)>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            values: DEFAULTS
                .iter()
                .map(|(n, v, _)| (n.to_string(), *v))
                .collect(),
        }
    }
}

impl Params {
    /// Applies `NAME=VALUE` overrides; unknown names and non-numbers are errors.
    pub fn with_overrides(overrides: &[String]) -> Result<Params, String> {
        let mut p = Params::default();
        for o in overrides {
            let (name, value) = o
                .split_once('=')
                .ok_or_else(|| format!("--set {o}: expected NAME=VALUE"))?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("--set {o}: {value:?} is not a number"))?;
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "--set {o}: the value must be a number of 0 or more"
                ));
            }
            let slot = p
                .values
                .iter_mut()
                .find(|(n, _)| n == name.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
                    format!(
                        "--set {o}: unknown parameter {name:?}; known: {}",
                        names.join(", ")
                    )
                })?;
            slot.1 = value;
        }
        Ok(p)
    }

    pub fn get(&self, name: &str) -> f64 {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("unknown parameter {name}"))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked() {
        let p = Params::with_overrides(&["skew_minutes=60".into()]).unwrap();
        assert_eq!(p.get("skew_minutes"), 60.0);
        assert_eq!(p.get("count_window_days"), 30.0);
        for bad in ["skew_minutes=-1", "skew_minutes=NaN", "skew_minutes=inf"] {
            assert!(
                Params::with_overrides(&[bad.into()])
                    .unwrap_err()
                    .contains("0 or more"),
                "{bad}"
            );
        }
        assert!(
            Params::with_overrides(&["nope=1".into()])
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert!(
            Params::with_overrides(&["skew_minutes=four".into()])
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Params::with_overrides(&["skew_minutes".into()])
                .unwrap_err()
                .contains("NAME=VALUE")
        );
    }
}
