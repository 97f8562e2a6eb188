package index

import (
	"fmt"
	"regexp"
	"strings"
)

// CurrentFile names, in a reindexed folder, the pointer to its current
// version: one line holding a version folder's name (vNNNN).
const CurrentFile = "CURRENT"

var versionName = regexp.MustCompile(`^v[0-9]{4,}$`)

// IsVersionName reports whether name is the name of a version folder (vNNNN).
func IsVersionName(name string) bool { return versionName.MatchString(name) }

// ParseCurrent returns the version a CURRENT file's bytes name. Anything but a
// version folder of the same index (vNNNN: no path, no "..") is an error.
func ParseCurrent(b []byte) (string, error) {
	v := strings.TrimSpace(string(b))
	if !IsVersionName(v) {
		return "", fmt.Errorf("index: %s holds %q, not a version of this index (want vNNNN)", CurrentFile, v)
	}
	return v, nil
}
