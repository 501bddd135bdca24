package isolate

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// rssCheck is how often the parent reads a child's resident memory.
const rssCheck = 250 * time.Millisecond

// watchRSS calls kill once when process pid's resident memory passes
// limit bytes, until stopped is closed: a check from outside the child,
// for memory its own runtime does not see.
func watchRSS(pid int, limit int64, stopped <-chan struct{}, kill func(rss int64)) {
	t := time.NewTicker(rssCheck)
	defer t.Stop()
	for {
		select {
		case <-stopped:
			return
		case <-t.C:
		}
		rss, err := residentMemory(pid)
		if err != nil {
			continue // gone, or no /proc
		}
		if rss > limit {
			kill(rss)
			return
		}
	}
}

// residentMemory reads a process's resident set size from /proc.
func residentMemory(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, errNoProc
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, errNoProc
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, errNoProc
	}
	return pages * int64(os.Getpagesize()), nil
}
