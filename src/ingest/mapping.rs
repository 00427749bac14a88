//! A source's SQL expressions (`id`, `updated_at`, `fields.*`): each is parsed as exactly one
//! expression (never pasted into SQL text, so `x FROM t WHERE …` is an error, not a filter),
//! planned against the source's columns and evaluated batch by batch. A row on which an
//! expression fails (`CAST('SW1A 1AA' AS INT)`, `to_date('31/02/2020')`) is found by evaluating
//! halves of the failing batch and becomes a reject; the other rows keep their values.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use arrow::compute::{cast, concat};
use arrow::datatypes::{DataType, Schema};
use datafusion::common::{DFSchema, DataFusionError, SchemaError};
use datafusion::logical_expr::ExprSchemable;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, visit_expressions};

use crate::Result;
use crate::config::SourceConfig;

/// Rows per evaluation: a failing batch is bisected, so a bad row costs about 13 evaluations.
const CHUNK: usize = 8192;

/// The pipeline keys of a source's expressions (`id`, `updated_at`, `fields.NAME`), each with
/// its output column and its SQL text, in output order.
pub fn expressions(src: &SourceConfig) -> Vec<(String, String, &str)> {
    let mut out = vec![(
        "id".to_string(),
        crate::schema::SOURCE_ID.to_string(),
        src.id.as_str(),
    )];
    if let Some(u) = &src.updated_at {
        out.push((
            "updated_at".into(),
            crate::schema::UPDATED_AT.into(),
            u.as_str(),
        ));
    }
    out.extend(
        src.fields
            .iter()
            .map(|(f, e)| (format!("fields.{f}"), f.clone(), e.as_str())),
    );
    out
}

/// Every identifier `src`'s expressions mention (each part of `a.b`): the only source columns
/// the mapping can use. Expressions that do not parse add nothing (they fail when compiled).
pub fn used_columns(src: &SourceConfig) -> HashSet<String> {
    let mut names = HashSet::new();
    for (_, _, sql) in expressions(src) {
        let Ok(parsed) = DFParser::parse_sql_into_expr(sql) else {
            continue;
        };
        let _ = visit_expressions(&parsed.expr, |e: &SqlExpr| {
            match e {
                SqlExpr::Identifier(i) => {
                    names.insert(i.value.clone());
                }
                SqlExpr::CompoundIdentifier(parts) => {
                    names.extend(parts.iter().map(|i| i.value.clone()));
                }
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
    }
    names
}

/// The problems of a source's expressions, as (pipeline key, problem).
pub type Problems = Vec<(String, Problem)>;

/// The mapped columns and the (row index, expression index) of each row an expression failed on.
pub type Evaluated = (Vec<ArrayRef>, Vec<(usize, usize)>);

/// Why an expression cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// It names a column that the source's files do not have (exit 3 at run: the data lacks
    /// it; exit 2 at check).
    MissingColumn(String),
    /// Anything else: not one expression, unknown function, wrong types, nested value (exit 2).
    Invalid(String),
}

/// One compiled expression per entry of [`expressions`], or every problem as (key, problem).
pub fn compile(
    ctx: &SessionContext,
    src: &SourceConfig,
    schema: &Schema,
) -> std::result::Result<Vec<Arc<dyn PhysicalExpr>>, Problems> {
    let df_schema = match DFSchema::try_from(schema.clone()) {
        Ok(s) => s,
        Err(e) => return Err(vec![("id".into(), classify(&e))]),
    };
    let mut compiled = Vec::new();
    let mut problems = Vec::new();
    for (key, _, sql) in expressions(src) {
        match compile_one(ctx, sql, &df_schema) {
            Ok(p) => compiled.push(p),
            Err(problem) => problems.push((key, problem)),
        }
    }
    if problems.is_empty() {
        Ok(compiled)
    } else {
        Err(problems)
    }
}

/// Parses `sql` as one expression over `schema`, checks that it gives a plain value and plans
/// it (with constant folding) as a text-valued physical expression.
/// Why `expr` cannot compute one row's value from that row alone, if it cannot: an aggregate,
/// a window function or a subquery, or a function whose value is not fixed by its arguments
/// (volatile like `random()` and `uuid()`, stable like `now()`: ids would change every run).
fn unusable(expr: &datafusion::logical_expr::Expr) -> Option<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Expr, Volatility};
    let mut found = None;
    let _ = expr.apply(|e| {
        found = match e {
            Expr::AggregateFunction(_)
            | Expr::WindowFunction(_)
            | Expr::ScalarSubquery(_)
            | Expr::Exists(_)
            | Expr::InSubquery(_) => Some(
                "aggregates, window functions and subqueries are not allowed in a field \
                 expression: it computes one row's value from that row alone"
                    .to_string(),
            ),
            Expr::ScalarFunction(f) if f.func.signature().volatility != Volatility::Immutable => {
                Some(format!(
                    "`{}()` gives a different value on every run (random, uuid, the time); an \
                     expression must give the same value for the same row: remove the function",
                    f.func.name()
                ))
            }
            _ => None,
        };
        Ok(match found {
            Some(_) => TreeNodeRecursion::Stop,
            None => TreeNodeRecursion::Continue,
        })
    });
    found
}

fn compile_one(
    ctx: &SessionContext,
    sql: &str,
    schema: &DFSchema,
) -> std::result::Result<Arc<dyn PhysicalExpr>, Problem> {
    let expr = ctx.parse_sql_expr(sql, schema).map_err(|e| classify(&e))?;
    let expr = expr.unalias();
    if let Some(why) = unusable(&expr) {
        return Err(Problem::Invalid(why));
    }
    let data_type = expr.get_type(schema).map_err(|e| classify(&e))?;
    if data_type.is_nested() {
        return Err(Problem::Invalid(format!(
            "`{sql}` gives a nested value ({data_type}); pick one value out of a struct with \
             an expression such as `get_field(column, 'key')`; list and map columns are not \
             supported: flatten them in the export"
        )));
    }
    let text = datafusion::logical_expr::cast(expr, DataType::Utf8);
    let state = ctx.state();
    let context = datafusion::logical_expr::simplify::SimplifyContext::builder()
        .with_schema(Arc::new(schema.clone()))
        .with_config_options(Arc::clone(state.config_options()))
        .with_current_time()
        .build();
    let simplifier = ExprSimplifier::new(context);
    let planned = simplifier
        .coerce(text, schema)
        .and_then(|e| simplifier.simplify(e))
        .and_then(|e| ctx.create_physical_expr(e, schema))
        .map_err(|e| classify(&e))?;
    Ok(planned)
}

/// Sorts a planning error into a missing column or an invalid expression, keeping the first
/// line of DataFusion's message (it names the expression's tokens, never a row's values).
fn classify(e: &DataFusionError) -> Problem {
    if let DataFusionError::SchemaError(inner, _) = e.find_root()
        && let SchemaError::FieldNotFound { field, .. } = inner.as_ref()
    {
        return Problem::MissingColumn(field.name.clone());
    }
    let text = e.strip_backtrace();
    let first = text.lines().next().unwrap_or("").trim_end_matches('.');
    let hint = match e.find_root() {
        DataFusionError::SQL(..) => {
            "write one SQL expression, such as `lower(email)`, with no `FROM`, `WHERE` or `;`"
        }
        _ if first.contains("GetFieldAccess") => {
            return Problem::Invalid(
                "`column['key']` and `column[1]` are not supported; pick a struct's value with \
                 `get_field(column, 'key')`; flatten list and map columns in the export"
                    .into(),
            );
        }
        _ if first.contains("Invalid function") => {
            "use a DataFusion function (https://datafusion.apache.org/user-guide/sql/scalar_functions.html)"
        }
        _ => "fix the expression",
    };
    Problem::Invalid(format!("{first}; {hint}"))
}

/// The values of every expression on `batch` (Utf8 arrays, in [`expressions`] order) and the
/// rows on which one failed, as (row index, expression index), each row once (its first
/// failing expression); those rows' values are null. `Err(k)` when expression `k` panicked
/// inside DataFusion (a value over 2 GiB, for one): the expression cannot be used.
pub fn evaluate(
    exprs: &[Arc<dyn PhysicalExpr>],
    batch: &RecordBatch,
) -> Result<std::result::Result<Evaluated, usize>> {
    let mut columns = Vec::with_capacity(exprs.len());
    let mut failed: Vec<(usize, usize)> = Vec::new();
    let mut seen = HashSet::new();
    for (k, expr) in exprs.iter().enumerate() {
        let one =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evaluate_one(expr, batch)));
        let Ok(one) = one else {
            return Ok(Err(k));
        };
        let (values, bad) = one?;
        columns.push(values);
        failed.extend(
            bad.into_iter()
                .filter(|&row| seen.insert(row))
                .map(|row| (row, k)),
        );
    }
    failed.sort_unstable();
    Ok(Ok((columns, failed)))
}

/// `expr` on `batch` as text, and the rows on which it failed: the whole table at once; only
/// when that fails, chunk by chunk, bisecting.
fn evaluate_one(
    expr: &Arc<dyn PhysicalExpr>,
    batch: &RecordBatch,
) -> Result<(ArrayRef, Vec<usize>)> {
    if let Ok(values) = evaluate_text(expr, batch) {
        return Ok((values, Vec::new()));
    }
    let (mut parts, mut failed) = (Vec::new(), Vec::new());
    for start in (0..batch.num_rows()).step_by(CHUNK) {
        let len = CHUNK.min(batch.num_rows() - start);
        let (part, bad) = evaluate_tolerant(expr, &batch.slice(start, len))?;
        parts.push(part);
        failed.extend(bad.into_iter().map(|row| start + row));
    }
    let refs: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok((concat(&refs)?, failed))
}

/// `expr` on `batch`, as text.
fn evaluate_text(expr: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<ArrayRef> {
    let values = expr.evaluate(batch)?.into_array(batch.num_rows())?;
    Ok(cast(&values, &DataType::Utf8)?)
}

/// Evaluates `expr` on `batch`; when that fails, on each half, down to single rows, which are
/// then null and listed as failed. The error itself is dropped: it may quote the row's value.
fn evaluate_tolerant(
    expr: &Arc<dyn PhysicalExpr>,
    batch: &RecordBatch,
) -> Result<(ArrayRef, Vec<usize>)> {
    let n = batch.num_rows();
    match evaluate_text(expr, batch) {
        Ok(values) => Ok((values, Vec::new())),
        Err(_) if n <= 1 => Ok((new_null_array(&DataType::Utf8, n), (0..n).collect())),
        Err(_) => {
            let half = n / 2;
            let (left, mut bad) = evaluate_tolerant(expr, &batch.slice(0, half))?;
            let (right, bad_right) = evaluate_tolerant(expr, &batch.slice(half, n - half))?;
            bad.extend(bad_right.into_iter().map(|i| i + half));
            Ok((concat(&[left.as_ref(), right.as_ref()])?, bad))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, StringArray};
    use arrow::datatypes::Field;

    #[test]
    fn rows_an_expression_fails_on_are_found_and_the_others_keep_their_values() {
        let codes: StringArray = (0..20_000)
            .map(|i| match i {
                3 | 15_000 => Some("SW1A 1AA".to_string()),
                _ => Some(i.to_string()),
            })
            .collect();
        let schema = Schema::new(vec![Field::new("code", DataType::Utf8, true)]);
        let batch =
            RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(codes)]).expect("batch");
        let ctx = crate::ingest::session();
        let df_schema = DFSchema::try_from(schema).expect("schema");
        let expr = compile_one(&ctx, "CAST(code AS INT) + 1", &df_schema).expect("compiles");
        let (cols, failed) = evaluate(&[expr], &batch)
            .expect("evaluates")
            .expect("no panic");
        assert_eq!(failed, [(3, 0), (15_000, 0)]);
        let values = cols[0].as_string::<i32>();
        assert_eq!(values.len(), 20_000);
        assert_eq!(values.null_count(), 2);
        assert_eq!((values.value(2), values.value(4)), ("3", "5"));
        assert_eq!(values.value(19_999), "20000");
    }

    #[test]
    fn sql_around_an_expression_is_refused_and_a_missing_column_is_named() {
        let schema = Schema::new(vec![Field::new("a", DataType::Utf8, true)]);
        let df_schema = DFSchema::try_from(schema).expect("schema");
        let ctx = crate::ingest::session();
        let err = compile_one(&ctx, "a FROM t WHERE a = '1'", &df_schema).err();
        assert!(matches!(err, Some(Problem::Invalid(m)) if m.contains("write one SQL expression")));
        let err = compile_one(&ctx, "upper(b)", &df_schema).err();
        assert_eq!(err, Some(Problem::MissingColumn("b".into())));
    }
}
