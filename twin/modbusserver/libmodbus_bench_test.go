package modbusserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/twin"
)

// serverProcessEnv makes the test binary serve benchScenario over Modbus
// instead of running tests (see TestMain): BenchmarkVsLibmodbus runs the
// Go server in a process of its own, as it runs the libmodbus server, so
// that both are measured the same way from the same client.
const serverProcessEnv = "OTWIN_MODBUS_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverProcessEnv) == "1" {
		if err := serveBenchScenario(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProfileEnv names a file for the CPU profile of the server process
// of BenchmarkVsLibmodbus (go tool pprof reads it).
const serverProfileEnv = "OTWIN_MODBUS_BENCH_CPUPROFILE"

// serveBenchScenario runs the twin of benchScenario and its Modbus server
// on 127.0.0.1, prints the port and serves until stdin closes.
func serveBenchScenario() error {
	if name := os.Getenv(serverProfileEnv); name != "" {
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	e, err := twin.New(benchScenario(), twin.Options{Logger: quietLogger()})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	s, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	fmt.Println(port)
	io.Copy(io.Discard, os.Stdin)
	return s.Close()
}

// serverProc is a server process under benchmark.
type serverProc struct {
	addr string
	pid  int
}

// cpu is the CPU time the process's threads have used so far, from
// /proc/PID/task/*/schedstat (nanoseconds); 0 where that is not
// available.
func (p serverProc) cpu() time.Duration {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.pid))
	var sum time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just ended
		}
		if fs := strings.Fields(string(b)); len(fs) > 0 {
			ns, _ := strconv.ParseInt(fs[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// startProcess runs cmd, reads the port it prints and stops it (by closing
// its stdin) when the benchmark ends.
func startProcess(b *testing.B, cmd *exec.Cmd) serverProc {
	b.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", cmd.Path, err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		b.Fatalf("%s printed %q, want its port (%v); stderr: %s", cmd.Path, line, err, stderr.String())
	}
	return serverProc{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), pid: cmd.Process.Pid}
}

// startLibmodbus builds testdata/libmodbus_server.c against Debian's
// libmodbus-dev and runs it; the benchmark is skipped when the compiler or
// the library is missing.
func startLibmodbus(b *testing.B) serverProc {
	b.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Skip("no C compiler (cc): libmodbus anchor skipped")
	}
	flags := []string{"-I/usr/include/modbus", "-lmodbus"}
	if out, err := exec.Command("pkg-config", "--cflags", "--libs", "libmodbus").Output(); err == nil {
		flags = strings.Fields(string(out))
	}
	if _, err := os.Stat("/usr/include/modbus/modbus.h"); err != nil && len(flags) > 0 && flags[0] == "-I/usr/include/modbus" {
		b.Skip("libmodbus-dev is not installed: libmodbus anchor skipped")
	}
	bin := filepath.Join(b.TempDir(), "libmodbus_server")
	args := append([]string{"-O2", "-o", bin, filepath.Join("testdata", "libmodbus_server.c")}, flags...)
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		b.Skipf("building the libmodbus server failed (libmodbus-dev missing?): %v\n%s", err, out)
	}
	return startProcess(b, exec.Command(bin))
}

// startGoServer runs this test binary as a server process (TestMain).
func startGoServer(b *testing.B) serverProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverProcessEnv+"=1")
	return startProcess(b, cmd)
}

// loadMode is one way of driving a server.
type loadMode struct {
	name  string
	conns int // connections, each on its own goroutine
	depth int // requests written at once per connection (pipelined)
}

// rawLoad is a raw-frame client: per connection one prebuilt batch of
// depth fc3 requests for holding 0-124 of unit 1, written at once; then
// the depth responses are read and checked (length and transaction id).
type rawLoad struct {
	mode  loadMode
	conns []net.Conn
	batch []byte
	resp  int // bytes of one response
}

func newRawLoad(b *testing.B, addr string, m loadMode) *rawLoad {
	b.Helper()
	l := &rawLoad{mode: m, resp: 7 + 2 + 250}
	for tid := 1; tid <= m.depth; tid++ {
		l.batch = append(l.batch, adu(uint16(tid), 0, 1, pdu(3, 0, 125))...)
	}
	for range m.conns {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		l.conns = append(l.conns, c)
	}
	if err := l.run(m.conns * m.depth); err != nil { // warm up and check
		b.Fatalf("%s on %s: %v", m.name, addr, err)
	}
	return l
}

// run sends about n requests over all connections and waits for every
// response.
func (l *rawLoad) run(n int) error {
	per := max(1, n/(len(l.conns)*l.mode.depth)) // batches per connection
	errs := make([]error, len(l.conns))
	var wg sync.WaitGroup
	for i, c := range l.conns {
		wg.Go(func() {
			buf := make([]byte, l.resp*l.mode.depth)
			c.SetDeadline(time.Now().Add(time.Minute))
			for range per {
				if _, err := c.Write(l.batch); err != nil {
					errs[i] = err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs[i] = err
					return
				}
				for k := range l.mode.depth {
					r := buf[k*l.resp:]
					if int(binary.BigEndian.Uint16(r)) != k+1 || r[7] != 3 || r[8] != 250 {
						errs[i] = fmt.Errorf("response %d: % x", k, r[:9])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// BenchmarkVsLibmodbus measures 125-register reads per second of this
// server and of a libmodbus server (built from testdata/libmodbus_server.c)
// with the same raw-frame client, in three modes: one connection, eight
// connections, and one connection with four requests pipelined. Both
// servers run in their own process; 40 rounds alternate between them so
// that a change in machine load hits both. It reports reads/s of each over
// all rounds, "ratio", the median of the rounds' throughput ratios
// (otwin/libmodbus: above 1 is faster than libmodbus), and "cpu-ratio",
// libmodbus's CPU time per read over this server's (above 1: this server
// spends less CPU per read; from /proc, so it shows what the load of a
// shared machine hides from wall-clock figures). Skipped without a C
// compiler and libmodbus-dev. Run it with a fixed count, e.g.
// -benchtime 40000x.
func BenchmarkVsLibmodbus(b *testing.B) {
	lib := startLibmodbus(b)
	ours := startGoServer(b)
	for _, m := range []loadMode{
		{"conns=1", 1, 1},
		{"conns=8", 8, 1},
		{"conns=1,pipelined=4", 1, 4},
	} {
		b.Run(m.name, func(b *testing.B) {
			servers := [2]serverProc{ours, lib}
			loads := [2]*rawLoad{newRawLoad(b, ours.addr, m), newRawLoad(b, lib.addr, m)}
			const rounds = 40
			batch := m.conns * m.depth
			per := max(b.N/rounds/batch, 1) * batch // requests per round and server
			var wall, cpu [2]time.Duration
			ratios := make([]float64, 0, rounds)
			for range rounds {
				var d [2]time.Duration
				for k, l := range loads {
					c0, start := servers[k].cpu(), time.Now()
					if err := l.run(per); err != nil {
						b.Fatal(err)
					}
					d[k] = time.Since(start)
					wall[k] += d[k]
					cpu[k] += servers[k].cpu() - c0
				}
				ratios = append(ratios, d[1].Seconds()/d[0].Seconds())
			}
			slices.Sort(ratios)
			done := float64(rounds * per)
			b.ReportMetric(done/wall[0].Seconds(), "otwin-reads/s")
			b.ReportMetric(done/wall[1].Seconds(), "libmodbus-reads/s")
			b.ReportMetric(ratios[rounds/2], "ratio")
			if cpu[0] > 0 && cpu[1] > 0 {
				b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "cpu-ratio")
			}
		})
	}
}
