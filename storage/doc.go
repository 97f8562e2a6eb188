// Package storage is vindex's one way to name, read and publish files: every
// path is a URI (a local path, gs://bucket/object, or any scheme Beam's
// filesystem layer has registered), joined with Join, never filepath.Join
// (which turns "gs://b" into the local path "gs:/b").
//
// Publishing is atomic: a reader sees either no file or the whole file.
// Locally, Create writes under a temporary name in the target's folder
// (TempPrefix, so dataset readers skip it), and Commit syncs the file, renames
// it into place and syncs the folder; files are created 0644 and folders 0755,
// both subject to the process umask. On an object store an object only becomes
// visible when its upload completes, so Create writes the final name directly
// and Abort cancels the upload.
//
// Output folders are published whole: StartOutput stages a command's
// output beside its folder and Output.Commit switches it in with one atomic
// exchange (renameat2 on Linux), so a folder never mixes two runs; an
// existing output is replaced only when asked (--overwrite), and never a
// folder of other files or one holding an input. MkdirAll fsyncs the parent
// of every folder it creates.
//
// Conditional operations, for pointers and locks that several processes
// write: CreateExclusive (exactly one of two creators wins: a hard link of
// a synced temporary file locally, the "does not exist" precondition on
// GCS), Replace (compare-and-swap on the content: a rename under an O_EXCL
// lock file locally, a generation precondition on GCS) and RemoveIf. They
// support local paths and gs:// only.
//
// Schemes: local paths and gs:// are registered by this package (Beam's local
// and gcs filesystems). A URI with any other scheme is an error
// from Check, before anything is written.
package storage
