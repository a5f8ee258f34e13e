//! A vendor's real data exports: keys already in customers' hands (field
//! keys) and real orders, read row by row from CSV or JSON Lines.
//!
//! Random cases find unknown bugs, vectors pin known behaviour; only real data
//! shows that the keys customers actually hold survive the migration, and that
//! the orders actually sold issue the same way in both systems. Exports come
//! in the vendor's vocabulary ("Order Date" as 23/11/2026, "Acme CAD", "Pro"),
//! so a source is a file plus a mapping ([`FieldKeysSource`],
//! [`OrdersSource`]): our field -> their column, their value -> ours.
//!
//! What this module guarantees, and why:
//! - **Streaming.** [`FieldKeyReader`] and [`OrderReader`] are iterators that
//!   read one row at a time: exports have millions of lines.
//! - **Nothing is dropped silently.** A row that does not fit is an item of
//!   the stream, a [`RowError`] with file, line (where the row starts, even if
//!   a quoted cell spans lines), column and value; the stream goes on. Only a
//!   file that cannot be read at all (missing, not UTF-8 anywhere, a required
//!   column missing from the header, I/O failure) is a [`SourceError`], and
//!   the encoding and the header are checked before any row is read. Items are therefore
//!   `Result<Result<T, RowError>, SourceError>`: `item?` propagates the fatal
//!   case and leaves the row's result.
//! - **A missing column is never a default.** Every field's column must be in
//!   the header (by default named like our field) unless the field is
//!   optional and listed in `absent`: a mistyped mapping of `seats` must not
//!   turn every order into unlimited seats.
//! - **Reproducible, exact sampling.** With `share` below 1, data rows fall
//!   into consecutive blocks of about `1 / share` rows and
//!   `splitmix64(splitmix64(seed) ^ block)` picks one row of each: exactly
//!   `share` of the rows (to one row), spread over the file, and the same
//!   rows on every machine, thread count and shard.
//!   [`Stats`] counts all data rows, the sampled ones, and the sampled ones
//!   that were errors; rows outside the sample are never parsed, so their
//!   defects are not counted.
//!
//! It does not validate keys or compare systems: the run does that with the
//! items. [`write_sample_data`] writes demo exports in a vendor's vocabulary,
//! and [`sample_config`] the mapping that reads them.

mod config;
mod dates;
mod error;
mod field_keys;
mod fields;
mod line_tracking;
mod orders;
mod parse;
mod row;
mod rows;
mod sample_data;
mod sampling;

pub use config::{FieldKeysSource, Format, MappingError, OrdersSource, Vocabulary};
pub use dates::DateFormat;
pub use error::{RowError, SourceError};
pub use field_keys::{FieldKey, FieldKeyReader};
pub use fields::{KeyField, OrderField};
pub use orders::{Order, OrderReader};
pub use sample_data::{
    DEMO_RELEASE_MAJORS, FIELD_KEYS_FILE, ORDERS_FILE, SAMPLE_MALFORMED_LINES, SampleData,
    SampleDataError, sample_config, write_sample_data,
};
pub use sampling::Stats;

#[cfg(test)]
mod tests;
