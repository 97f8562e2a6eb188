// Package schema defines the Parquet row types that cross vindex's boundaries:
// the feature rows of a catalog (Song), the embedding rows vindex writes
// (Embedding), and the rows that record refused songs (Reject).
//
// Beam stays out of this package: it depends only on the standard library and
// parquet-go, so the data contracts are testable without a runner.
package schema
