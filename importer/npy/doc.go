// Package npy reads NumPy .npy files (format versions 1.0, 2.0 and 3.0) into
// float32 arrays, the form in which vindex imports cremaPCP features.
//
// Supported element types: little- and big-endian float16/32/64 ('<f2',
// '<f4', '<f8', '>f8', …), signed and unsigned integers of 1, 2, 4 and 8
// bytes, and booleans ('|b1'). Arrays in C order are returned as they are;
// arrays in Fortran order are transposed into C order, so Array.Data is always
// row-major. Object arrays ('|O'), structured dtypes, strings and complex
// numbers are refused with ErrUnsupported.
//
// Invariants: len(Array.Data) == product(Array.Shape); a 0-d array has an
// empty Shape and one element.
//
// Deviation from NumPy: values are converted to float32 (float64 and 64-bit
// integers lose precision, as the MOVE network computes in float32 anyway).
//
// # Security considerations
//
// The header is at most 1 MiB (NumPy itself refuses larger ones by default)
// and is parsed without eval. Array sizes are checked for overflow and against
// Options.MaxElements before anything is allocated, and the data are read
// incrementally, so a file that declares a large shape but holds few bytes
// costs no more memory than its length; ReadFile checks the shape against
// the file's size before reading, and opens regular files only (a FIFO
// would block, a device never end).
package npy
