package torch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"testing"
)

// The loading-cost attacks of issue 12, point 1, built here rather than
// stored: each is a small file that, before the work budget and the zip
// layout checks, made the loader spend seconds and gigabytes before refusing
// it. Each must now be refused within maxHostileAlloc bytes allocated.
const maxHostileAlloc = 100 << 20

// memoPut appends LONG_BINPUT i.
func (p *pickle) memoPut(i uint32) *pickle {
	p.WriteByte('r')
	binary.Write(&p.Buffer, binary.LittleEndian, i)
	return p
}

// memoGet appends LONG_BINGET i.
func (p *pickle) memoGet(i uint32) *pickle {
	p.WriteByte('j')
	binary.Write(&p.Buffer, binary.LittleEndian, i)
	return p
}

// dictCopyBomb pickles a dict of entries small-int keys, then a list of
// copies OrderedDict(d) of it: entries×copies dict inserts from a file of
// about 4×entries + 11×copies bytes (issue 12: 12,000 × 1,000 in 48 kB).
func dictCopyBomb(entries, copies int) []byte {
	p := &pickle{}
	p.op(0x80, 2, '}').memoPut(0).op('(')
	for i := range entries {
		p.op('M', byte(i), byte(i>>8), 'N')
	}
	p.op('u', '0').global("collections", "OrderedDict").memoPut(1).op('0', ']', '(')
	for range copies {
		p.memoGet(1).memoGet(0).op(0x85, 'R')
	}
	return p.op('e', '.').Bytes()
}

// nestedDicts pickles depth dicts each holding the next (4 bytes a level),
// then a DAG of fan levels whose level i maps two keys to level i-1 (2^fan
// paths through 15 bytes a level).
func nestedDicts(depth, fan int) []byte {
	p := &pickle{}
	p.op(0x80, 2, ']', '}')
	for range depth {
		p.op('K', 0, '}')
	}
	for range depth {
		p.op('s')
	}
	p.op('a', '}').memoPut(0).op('0')
	for i := range fan {
		p.op('}', '(', 'K', 0).memoGet(uint32(i)).op('K', 1).memoGet(uint32(i)).op('u').memoPut(uint32(i + 1)).op('0')
	}
	p.memoGet(uint32(fan))
	return p.op('a', '.').Bytes()
}

// longKeyDict pickles a keyLen-byte string, then a dict that sets it as a
// key sets times: each insert hashes the whole key.
func longKeyDict(keyLen, sets int) []byte {
	p := &pickle{}
	p.op(0x80, 2).str(string(bytes.Repeat([]byte{'k'}, keyLen))).memoPut(0).op('0', '}', '(')
	for range sets {
		p.memoGet(0).op('N')
	}
	return p.op('u', '.').Bytes()
}

type rawEntry struct {
	name string
	data []byte
}

// rawZip writes entries stored, then a central directory listing each of
// them and then every alias as another name for entry target's bytes: a zip
// Python's zipfile refuses (overlapping entries) and archive/zip reads.
func rawZip(entries []rawEntry, aliases []string, target int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	offsets := make([]uint32, len(entries))
	for i, e := range entries {
		offsets[i] = uint32(b.Len())
		binary.Write(&b, le, []uint32{0x04034b50})
		binary.Write(&b, le, []uint16{20, 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{crc32.ChecksumIEEE(e.data), uint32(len(e.data)), uint32(len(e.data))})
		binary.Write(&b, le, []uint16{uint16(len(e.name)), 0})
		b.WriteString(e.name)
		b.Write(e.data)
	}
	cdStart := b.Len()
	central := func(name string, e rawEntry, off uint32) {
		binary.Write(&b, le, []uint32{0x02014b50})
		binary.Write(&b, le, []uint16{20, 20, 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{crc32.ChecksumIEEE(e.data), uint32(len(e.data)), uint32(len(e.data))})
		binary.Write(&b, le, []uint16{uint16(len(name)), 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{0, off})
		b.WriteString(name)
	}
	for i, e := range entries {
		central(e.name, e, offsets[i])
	}
	for _, a := range aliases {
		central(a, entries[target], offsets[target])
	}
	n, cdSize := uint16(len(entries)+len(aliases)), uint32(b.Len()-cdStart)
	binary.Write(&b, le, []uint32{0x06054b50})
	binary.Write(&b, le, []uint16{0, 0, n, n})
	binary.Write(&b, le, []uint32{cdSize, uint32(cdStart)})
	binary.Write(&b, le, []uint16{0})
	return b.Bytes()
}

// overlappingZip is a state_dict of n tensors whose storages are n central
// directory entries naming one stored blob of blob bytes (issue 12: 3,000
// entries over a 728 kB blob).
func overlappingZip(n, blob int) []byte {
	numel := int64(blob / 4)
	p := &pickle{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(')
	p.global("torch._utils", "_rebuild_tensor_v2").memoPut(0).op('0')
	p.global("torch", "FloatStorage").memoPut(1).op('0')
	for i := range n {
		p.str(fmt.Sprint("w", i)).memoGet(0).op('(')
		p.op('(').str("storage").memoGet(1).str(fmt.Sprint(i)).str("cpu").int(numel).op('t', 'Q')
		p.int(0).ints(numel).ints(1).op(0x89, '}', 't', 'R')
	}
	p.op('u', '.')
	aliases := make([]string, n-1)
	for i := range aliases {
		aliases[i] = fmt.Sprint("archive/data/", i+1)
	}
	return rawZip([]rawEntry{
		{"archive/data.pkl", p.Bytes()},
		{"archive/data/0", make([]byte, blob)},
		{"archive/version", []byte("3\n")},
	}, aliases, 1)
}

// zipPickle wraps a pickle as archive/data.pkl.
func zipPickle(pkl []byte) []byte {
	return rawZip([]rawEntry{{"archive/data.pkl", pkl}, {"archive/version", []byte("3\n")}}, nil, 0)
}

type hostileCase struct {
	name string
	file []byte
	want error // what Load and LoadObject fail with
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{"dict copies, zip (60 kB)", zipPickle(dictCopyBomb(12000, 1000)), ErrTooLarge},
		{"dict copies, legacy", legacyFile(dictCopyBomb(12000, 1000), nil), ErrTooLarge},
		{"long key hashed 20,000 times", zipPickle(longKeyDict(60000, 20000)), ErrTooLarge},
		{"3,000 entries over one 728 kB blob", overlappingZip(3000, 728<<10), ErrCorrupt},
	}
}

// allocated returns the bytes f allocates (TotalAlloc counts every
// allocation, collected or not, so no GC is needed around it).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileFilesRefusedCheaply(t *testing.T) {
	for _, tc := range hostileCases() {
		for _, load := range []struct {
			name string
			f    func([]byte) error
		}{
			{"Load", func(b []byte) error { _, err := Load(bytes.NewReader(b), int64(len(b))); return err }},
			{"LoadObject", func(b []byte) error { _, err := LoadObject(bytes.NewReader(b), int64(len(b))); return err }},
		} {
			var err error
			n := allocated(func() { err = load.f(tc.file) })
			t.Logf("%s, %s (%d bytes): refused after allocating %.1f MB: %v", tc.name, load.name, len(tc.file), float64(n)/(1<<20), err)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s, %s (%d bytes): error %v, want %v", tc.name, load.name, len(tc.file), err, tc.want)
			}
			if n > maxHostileAlloc {
				t.Errorf("%s, %s: allocated %d MB before refusing, want < %d MB", tc.name, load.name, n>>20, maxHostileAlloc>>20)
			}
		}
	}
}

// Nested and shared dicts are legal objects: Load refuses them as not a
// state_dict, LoadObject converts the shared ones once each (not once per
// path) and refuses nesting deeper than maxDepth, all cheaply.
func TestNestedDictsCheap(t *testing.T) {
	for _, tc := range []struct {
		name       string
		depth, fan int
		wantObject error
	}{
		{"900 nested, 2^200 paths", 900, 200, nil},
		{"1,300 nested (4 kB)", 1300, 0, ErrUnsupported},
	} {
		b := zipPickle(nestedDicts(tc.depth, tc.fan))
		var errLoad, errObj error
		n := allocated(func() {
			_, errLoad = Load(bytes.NewReader(b), int64(len(b)))
			_, errObj = LoadObject(bytes.NewReader(b), int64(len(b)))
		})
		t.Logf("%s (%d bytes): allocated %.1f MB", tc.name, len(b), float64(n)/(1<<20))
		if !errors.Is(errLoad, ErrNotStateDict) {
			t.Errorf("%s: Load: %v, want ErrNotStateDict", tc.name, errLoad)
		}
		if (tc.wantObject == nil && errObj != nil) || !errors.Is(errObj, tc.wantObject) {
			t.Errorf("%s: LoadObject: %v, want %v", tc.name, errObj, tc.wantObject)
		}
		if n > maxHostileAlloc {
			t.Errorf("%s (%d bytes): allocated %d MB, want < %d MB", tc.name, len(b), n>>20, maxHostileAlloc>>20)
		}
	}
}

// The budget admits what torch writes: the fixtures and the full-size MOVE
// checkpoints load (TestLoadFixtures, TestLoadMOVECheckpoints), and so does
// a dict built from as many entries as its file has room for.
func TestBudgetAdmitsLargeDicts(t *testing.T) {
	b := zipPickle(dictCopyBomb(60000, 1))
	if _, err := LoadObject(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// FuzzHostile generates the attacks above with fuzzed sizes: whatever the
// sizes, a load either succeeds or fails, allocating at most a fixed
// multiple of the file's bytes plus a constant.
func FuzzHostile(f *testing.F) {
	f.Add(uint8(0), uint16(12000), uint16(1000))
	f.Add(uint8(1), uint16(1300), uint16(200))
	f.Add(uint8(2), uint16(60000), uint16(20000))
	f.Add(uint8(3), uint16(3000), uint16(200))
	f.Fuzz(func(t *testing.T, kind uint8, a, b uint16) {
		var file []byte
		switch kind % 4 {
		case 0:
			file = zipPickle(dictCopyBomb(int(a), int(b)))
		case 1:
			file = legacyFile(nestedDicts(int(a), int(min(b, 1000))), nil)
		case 2:
			file = zipPickle(longKeyDict(int(a), int(b)))
		case 3:
			file = overlappingZip(max(int(a)%4000, 1), int(b)<<4)
		}
		n := allocated(func() {
			Load(bytes.NewReader(file), int64(len(file)))
			LoadObject(bytes.NewReader(file), int64(len(file)))
		})
		if limit := 400*uint64(len(file)) + 32<<20; n > limit {
			t.Fatalf("kind %d (%d, %d): %d-byte file allocated %d MB, limit %d MB", kind%4, a, b, len(file), n>>20, limit>>20)
		}
	})
}

// A central-directory entry whose data would run past the archive is
// refused before anything is read.
func TestZipEntryPastArchive(t *testing.T) {
	b := zipPickle([]byte{0x80, 2, '}', '.'})
	cd := bytes.LastIndex(b, []byte("PK\x01\x02"))  // archive/version's record
	binary.LittleEndian.PutUint32(b[cd+20:], 1<<30) // compressed size
	binary.LittleEndian.PutUint32(b[cd+24:], 1<<30) // uncompressed size
	_, err := Load(bytes.NewReader(b), int64(len(b)))
	t.Log(err)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("entry past the archive: error %v, want ErrCorrupt", err)
	}
}

// FuzzAllocBound holds any input, mutated freely, to the same bound as
// FuzzHostile: Load and LoadObject together allocate at most 400 bytes per
// file byte plus 32 MiB, whatever the bytes say.
func FuzzAllocBound(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	// small hostile seeds only: the mutator stalls on inputs of tens of
	// kilobytes (27 execs a minute measured with the 60 kB copy bomb);
	// FuzzHostile covers the large shapes through their generators
	f.Add(zipPickle(dictCopyBomb(300, 200)))
	f.Add(legacyFile(dictCopyBomb(300, 200), nil))
	f.Add(zipPickle(nestedDicts(1100, 40)))
	f.Add(zipPickle(longKeyDict(2000, 500)))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := allocated(func() {
			Load(bytes.NewReader(b), int64(len(b)))
			LoadObject(bytes.NewReader(b), int64(len(b)))
		})
		if limit := 400*uint64(len(b)) + 32<<20; n > limit {
			t.Fatalf("%d-byte file allocated %d MB, limit %d MB", len(b), n>>20, limit>>20)
		}
	})
}
