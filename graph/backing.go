package graph

// RangeReleaser is implemented by a Graph.Backing that can drop the resident pages of part of its
// memory (e.g. madvise(MADV_DONTNEED) on a read-only file mapping). Data stays valid: a released
// range is read back from the file if it is touched again. Passes that read large constants once
// (weight quantization) call it so a model bigger than the memory budget can be converted in a stream.
type RangeReleaser interface {
	// ReleaseRange releases the pages of b, which must lie inside the backing's memory (other slices
	// are ignored). Pages only partly inside b may be released too.
	ReleaseRange(b []byte)
}
