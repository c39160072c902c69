package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// moduleRoot returns the directory of the latchkey module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build compiles the latchkey binary and the ceiling server into dir, and
// the proxy when withProxy (-nodes 2 and more).
func build(ctx context.Context, dir string, withProxy bool) (latchkey, ceiling, proxy string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", "", "", err
	}
	latchkey, ceiling = filepath.Join(dir, "latchkey"), filepath.Join(dir, "ceiling")
	bins := map[string]string{latchkey: "./cmd/latchkey", ceiling: "./bench/ceiling"}
	if withProxy {
		proxy = filepath.Join(dir, "proxy")
		bins[proxy] = "./bench/proxy"
	}
	for bin, pkg := range bins {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return latchkey, ceiling, proxy, nil
}

// process is a started server.
type process struct {
	cmd  *exec.Cmd
	Addr string
	done chan struct{}
}

var listeningRe = regexp.MustCompile(`"addr":"([^"]+)"|addr=(\S+)`)

// startLatchkey runs `latchkey serve` and waits for its listening line.
func startLatchkey(bin string, env []string, args ...string) (*process, error) {
	// The server runs as shipped: at info level with the access log on (a
	// line per request, buffered by telemetry.LogBuffer), so its cost is
	// in the figures. Only warnings and errors are shown here.
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "listening") {
				if m := listeningRe.FindStringSubmatch(line); m != nil {
					addr <- m[1] + m[2]
				}
			} else if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
				fmt.Fprintln(os.Stderr, "latchkey:", line)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	select {
	case p.Addr = <-addr:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("latchkey serve exited before listening")
	case <-time.After(60 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("latchkey serve did not listen within 60 s")
	}
}

// startCeiling runs the ceiling server with the scenarios' routes.
func startCeiling(bin, routesFile string) (*process, error) {
	return startPrinting("ceiling", bin, "-routes", routesFile)
}

// startProxy runs the round-robin proxy in front of backends.
func startProxy(bin string, backends []*process) (*process, error) {
	var addrs []string
	for _, b := range backends {
		addrs = append(addrs, b.Addr)
	}
	return startPrinting("proxy", bin, "-backends", strings.Join(addrs, ","))
}

// startPrinting runs a server that prints its address as its first line
// on stdout (the ceiling, the proxy).
func startPrinting(name, bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.Addr = strings.TrimSpace(line)
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Stop ends the process (SIGTERM, then SIGKILL after 10 s).
func (p *process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// PeakRSS returns the process's peak resident set size (VmHWM).
func (p *process) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux the benchmark targets).
const clockTick = 10 * time.Millisecond

// CPU returns the CPU time the process has used so far, user and system
// (utime + stime of /proc/PID/stat), in clock ticks of 10 ms.
func (p *process) CPU() (time.Duration, error) {
	return processCPU(p.cmd.Process.Pid)
}

func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields counted are those after its closing parenthesis, which
	// start at field 3 (state); utime and stime are fields 14 and 15.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuOf sums the CPU time of procs; a process whose figure cannot be read
// makes the sum unknown (-1).
func cpuOf(procs []*process) time.Duration {
	var sum time.Duration
	for _, p := range procs {
		c, err := p.CPU()
		if err != nil {
			return -1
		}
		sum += c
	}
	return sum
}

// loadAverage is the machine's 1-, 5- and 15-minute load average: other
// work on the cores moves req/s, much less the CPU per request.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
