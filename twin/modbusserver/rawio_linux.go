package modbusserver

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// connIO returns the reader and the writer a connection is served
// through. On Linux they make their read and write system calls through
// nc's syscall.RawConn with syscall.RawSyscall, without entering the
// scheduler's system call state: the socket is non-blocking, so neither
// call can block, and a read that finds nothing waits in the netpoller as
// net.Conn's does; nc's deadlines apply and its Close ends a wait. What
// this saves per request and response — the scheduler's bookkeeping
// around each call, and waking its monitor thread, which sleeps while
// every processor is idle (one client waiting for each response) — is
// over a quarter of the server's CPU per request of one connection
// (BenchmarkVsLibmodbus: libmodbus's CPU per read over this server's went
// from 0.90-0.97 to 1.30).
// Anything but a connection with a RawConn is served as it is.
func connIO(nc net.Conn) (io.Reader, io.Writer) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc, nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc, nc
	}
	return rawReader{rc}, rawWriter{rc}
}

type rawReader struct{ rc syscall.RawConn }

func (r rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				n = int(r1)
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until readable
			default:
				errno = e
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

type rawWriter struct{ rc syscall.RawConn }

func (w rawWriter) Write(p []byte) (int, error) {
	var (
		done  int
		errno syscall.Errno
	)
	err := w.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
			switch e {
			case 0:
				done += int(r1)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until writable
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, err
	case errno != 0:
		return done, os.NewSyscallError("write", errno)
	}
	return done, nil
}
