//! golden's functions as DataFusion scalar functions, registered on every process of a
//! cluster: each wraps the function the local path runs, so a value computed on an executor is
//! the value a local run computes.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int8Array, Int64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::compare;
use crate::config::{ComparisonConfig, Method};

/// Every function golden registers on a cluster.
pub fn all() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(Level::new())),
        Arc::new(ScalarUDF::from(Key::new())),
        Arc::new(ScalarUDF::from(Sampled::new())),
    ]
}

/// `golden_sampled(seed, cut_offs, a, b)`: the rules whose EM sample holds the pair of records
/// `a` and `b` (row indices), as a bit mask (bit `r` for rule `r`): `cut_offs` lists each
/// rule's cut-off ([`crate::model::tally::keep_below`]) separated by commas, and the test is
/// the one the local tally makes ([`crate::model::tally::sampled`]), with the model's `seed`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sampled {
    signature: Signature,
}

impl Sampled {
    /// The function's name in SQL.
    pub const NAME: &'static str = "golden_sampled";

    /// The function, taking two strings and two 64-bit integers.
    pub fn new() -> Self {
        use DataType::{Int64, Utf8};
        Sampled {
            signature: Signature::exact(vec![Utf8, Utf8, Int64, Int64], Volatility::Immutable),
        }
    }
}

impl Default for Sampled {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Sampled {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [seed, cut_offs, a, b] = args.args.as_slice() else {
            return plan_err!("{} takes 4 arguments, got {}", Self::NAME, args.args.len());
        };
        let number = |t: &str| match t.trim().parse::<u64>() {
            Ok(n) => Ok(n),
            Err(_) => plan_err!("{}: `{t}` is not an unsigned 64-bit number", Self::NAME),
        };
        let seed = number(literal(seed, "seed", Self::NAME)?)?;
        let cut_offs = (literal(cut_offs, "cut_offs", Self::NAME)?.split(','))
            .map(number)
            .collect::<DfResult<Vec<u64>>>()?;
        let (a, b) = (a.to_array(args.number_rows)?, b.to_array(args.number_rows)?);
        let (a, b) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
        let masks = (a.iter().zip(b.iter()))
            .map(|pair| match pair {
                (Some(a), Some(b)) => {
                    let (a, b) = (a as u32, b as u32);
                    let bits = cut_offs
                        .iter()
                        .enumerate()
                        .filter(|&(_, &keep)| crate::model::tally::sampled(keep, seed, a, b));
                    Some(bits.fold(0i64, |m, (r, _)| m | 1 << r))
                }
                _ => None,
            })
            .collect::<Int64Array>();
        Ok(ColumnarValue::Array(Arc::new(masks)))
    }
}

/// `golden_key(key, value)`: the blocking key of match value `value` under `key`, a key as a
/// blocking rule writes it (`x`, `metaphone(x)`, `left(x, 3)`, …; the field name is not
/// read), computed by the blocking stage's function: null when the value or the result is
/// missing or empty.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Key {
    signature: Signature,
}

impl Key {
    /// The function's name in SQL.
    pub const NAME: &'static str = "golden_key";

    /// The function, taking two strings of any string type.
    pub fn new() -> Self {
        Key {
            signature: Signature::string(2, Volatility::Immutable),
        }
    }
}

impl Default for Key {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Key {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [key, value] = args.args.as_slice() else {
            return plan_err!("{} takes 2 arguments, got {}", Self::NAME, args.args.len());
        };
        let key = literal(key, "key", Self::NAME)?;
        let transform = match crate::config::validate::parse_block_key(key) {
            Ok(k) => k.transform,
            Err(e) => return plan_err!("{}: {e}", Self::NAME),
        };
        let values = utf8(value, args.number_rows)?;
        let keys = crate::standardize::keys::key(values.as_string::<i32>(), transform);
        Ok(ColumnarValue::Array(Arc::new(keys)))
    }
}

/// A blocking key's transform as [`Key`] takes it, on a placeholder field `x`.
pub fn key_text(transform: crate::config::KeyTransform) -> String {
    use crate::config::KeyTransform as T;
    match transform {
        T::Identity => "x".into(),
        T::Metaphone => "metaphone(x)".into(),
        T::Soundex => "soundex(x)".into(),
        T::Nysiis => "nysiis(x)".into(),
        T::Year => "year(x)".into(),
        T::Prefix(n) => format!("left(x, {n})"),
    }
}

/// `golden_level(method, thresholds, a, b)`: the comparison level of values `a` and `b` (the
/// fields' match values) under `method` (`jaro_winkler`, `levenshtein`, `exact`, `date`, …)
/// and `thresholds` (comma-separated, best first; `''` for exact and date), as the compare
/// stage computes it: -1 when either is missing, 0 "else", the top level for equal values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Level {
    signature: Signature,
}

impl Level {
    /// The function's name in SQL.
    pub const NAME: &'static str = "golden_level";

    /// The function, taking four strings of any string type.
    pub fn new() -> Self {
        Level {
            signature: Signature::string(4, Volatility::Immutable),
        }
    }
}

impl Default for Level {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Level {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [method, thresholds, a, b] = args.args.as_slice() else {
            return plan_err!("{} takes 4 arguments, got {}", Self::NAME, args.args.len());
        };
        let c = comparison(
            literal(method, "method", Self::NAME)?,
            literal(thresholds, "thresholds", Self::NAME)?,
        )?;
        let (a, b) = (utf8(a, args.number_rows)?, utf8(b, args.number_rows)?);
        let levels = compare::pair_levels(&c, a.as_string::<i32>(), b.as_string::<i32>())
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        Ok(ColumnarValue::Array(Arc::new(Int8Array::from(levels))))
    }
}

/// The comparison that `golden_level`'s first two arguments name.
fn comparison(method: &str, thresholds: &str) -> DfResult<ComparisonConfig> {
    let Some(method) = Method::parse(method) else {
        return plan_err!(
            "{}: unknown method `{method}`; one of {}",
            Level::NAME,
            Method::NAMES.join(", ")
        );
    };
    let levels = thresholds
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t.parse::<f64>() {
            Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
            _ => plan_err!("{}: threshold `{t}` is not a number in (0, 1)", Level::NAME),
        })
        .collect::<DfResult<Vec<f64>>>()?;
    Ok(ComparisonConfig {
        field: String::new(),
        method,
        levels,
    })
}

/// The text of constant argument `what` of function `function` (the same in every row).
fn literal<'a>(arg: &'a ColumnarValue, what: &str, function: &str) -> DfResult<&'a str> {
    match arg {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => Ok(s),
        _ => exec_err!("{function}: `{what}` must be a constant string"),
    }
}

/// Argument `arg` as `rows` plain UTF-8 values (scans may give string views).
fn utf8(arg: &ColumnarValue, rows: usize) -> DfResult<ArrayRef> {
    let array = arg.to_array(rows)?;
    Ok(match array.data_type() {
        DataType::Utf8 => array,
        _ => arrow::compute::cast(&array, &DataType::Utf8)?,
    })
}
