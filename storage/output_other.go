//go:build !linux

package storage

import "syscall"

const syscallENOTDIR = syscall.ENOTDIR

// exchangeDirs switches final to staging with two renames (renameAside): only
// Linux's renameat2 exchanges two folders atomically.
func exchangeDirs(staging, final string) (old string, err error) { return renameAside(staging, final) }
