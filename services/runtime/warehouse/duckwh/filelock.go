package duckwh

import (
	"path/filepath"
	"sync"
)

// DuckDB's file lock is a POSIX lock, which does not exclude the process
// that holds it: two Warehouses on one file in one process — the loader
// and a precondition or test reading the table — would each open their
// own database on it, and a read during a load's checkpoint fails ("could
// not read enough bytes"). So every Warehouse of a process on one file
// shares one lock: a load or statement holds it alone, reads share it.
var fileLocks sync.Map // absolute path -> *sync.RWMutex

// fileLock returns the process-wide lock of a database file.
func fileLock(path string) *sync.RWMutex {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	l, _ := fileLocks.LoadOrStore(filepath.Clean(path), &sync.RWMutex{})
	return l.(*sync.RWMutex)
}
