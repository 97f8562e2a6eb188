package storage

import (
	"errors"

	"golang.org/x/sys/unix"
)

const syscallENOTDIR = unix.ENOTDIR

// exchangeDirs swaps staging and final in one renameat2(RENAME_EXCHANGE), so
// final names the old or the new output at every instant; it returns where
// the old output now is (the staging name). File systems without the
// exchange (EINVAL, ENOSYS) fall back to renameAside.
func exchangeDirs(staging, final string) (old string, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return renameAside(staging, final)
	}
	if err != nil {
		return "", err
	}
	return staging, nil
}
