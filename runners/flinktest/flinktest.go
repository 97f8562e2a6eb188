// Package flinktest starts a Beam Flink job server with an embedded Flink
// mini cluster (--flink-master=[local]) for tests, so that a pipeline can be
// submitted to it with runners.Options{Runner: "flink", Endpoint: …} and the
// LOOPBACK environment.
//
// The job server's classpath comes from scripts/flink/fetch.sh, which fetches
// it with Maven into .cache/flink/ (git-ignored) and records it in
// .cache/flink/job-server.classpath and job-server.version. When java or the
// fetched job server is missing, Start skips the test with the reason, or
// fails it when VINDEX_REQUIRE_ALL=1 (CI).
package flinktest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for the job port to open.
const StartTimeout = 3 * time.Minute

// JobServer is a running Beam Flink job server.
type JobServer struct {
	// Endpoint is the job service address, e.g. localhost:41234.
	Endpoint string
	// Version is the job server's "<beam version> flink <flink version>",
	// from .cache/flink/job-server.version.
	Version string
	// Log is the file the job server writes its output to.
	Log string

	stop func() error
	quit func() error // asks the JVM for a thread dump (SIGQUIT)
	once sync.Once
	err  error
}

// Start starts a job server on a free localhost port and stops it when the
// test ends. It skips t (or fails it under VINDEX_REQUIRE_ALL=1) when java
// or the fetched job server is missing, and fails t when the server does not
// come up.
func Start(t testing.TB) *JobServer {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		missing(t, "needs java (a JDK 11 or 17) on PATH: %v", err)
	}
	classpath, version, err := Classpath()
	if err != nil {
		missing(t, "needs the Beam Flink job server: run scripts/flink/fetch.sh (%v)", err)
	}
	js, err := start(java, classpath, t.TempDir())
	if err != nil {
		t.Fatalf("flinktest: %v", err)
	}
	js.Version = version
	t.Cleanup(func() {
		if err := js.Stop(); err != nil {
			t.Logf("flinktest: stopping job server: %v", err)
		}
	})
	return js
}

// missing skips t, or fails it when VINDEX_REQUIRE_ALL=1.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("VINDEX_REQUIRE_ALL") == "1" {
		t.Fatalf("flinktest: "+format+" (VINDEX_REQUIRE_ALL=1)", args...)
	}
	t.Skipf(format, args...)
}

// Classpath returns the job server's Java classpath and version recorded by
// scripts/flink/fetch.sh, found from the repository root above the working
// directory (or $VINDEX_FLINK_CACHE).
func Classpath() (classpath, version string, err error) {
	dir := os.Getenv("VINDEX_FLINK_CACHE")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", "", err
		}
		dir = filepath.Join(root, ".cache", "flink")
	}
	cp, err := os.ReadFile(filepath.Join(dir, "job-server.classpath"))
	if err != nil {
		return "", "", err
	}
	v, _ := os.ReadFile(filepath.Join(dir, "job-server.version"))
	return strings.TrimSpace(string(cp)), strings.TrimSpace(string(v)), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// flinkConf is the embedded cluster's configuration (Flink 1.19+ still reads
// the legacy flink-conf.yaml when no config.yaml is present).
const flinkConf = `heartbeat.timeout: 600000
heartbeat.interval: 20000
pekko.ask.timeout: 300 s
akka.ask.timeout: 300 s
parallelism.default: 2
`

func start(java, classpath, tmp string) (*JobServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	logPath := filepath.Join(tmp, "flink-job-server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Generous timeouts: on a loaded 2-core machine the mini cluster's
	// heartbeats and RPCs otherwise time out and fail the job.
	if err := os.WriteFile(filepath.Join(tmp, "flink-conf.yaml"), []byte(flinkConf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(java,
		"-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
		"org.apache.beam.runners.flink.FlinkJobServerDriver",
		"--flink-master=[local]",
		"--flink-conf-dir="+tmp,
		"--job-host=localhost",
		"--job-port="+strconv.Itoa(port),
		"--artifact-port=0",
		"--expansion-port=0",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = tmp
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting java: %w", err)
	}
	js := &JobServer{Endpoint: net.JoinHostPort("localhost", strconv.Itoa(port)), Log: logPath}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(StartTimeout)
	for {
		c, err := net.DialTimeout("tcp", js.Endpoint, time.Second)
		if err == nil {
			c.Close()
			js.quit = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
			js.stop = func() error {
				_ = cmd.Process.Kill()
				<-exited
				return nil
			}
			return js, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("job server exited before opening %s: %v\n%s", js.Endpoint, err, tail(logPath))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return nil, fmt.Errorf("job server did not open %s within %v\n%s", js.Endpoint, StartTimeout, tail(logPath))
		}
	}
}

// Stop kills the job server and waits for it to exit. It is safe to call
// more than once.
func (js *JobServer) Stop() error {
	js.once.Do(func() {
		if js.stop != nil {
			js.err = js.stop()
		}
	})
	return js.err
}

// ThreadDump asks the job server's JVM for a thread dump (SIGQUIT, which
// the JVM answers on its standard output, the log) and returns it: the Java
// threads of a run that does not finish, e.g. operators spinning in a
// coder. It returns the log's tail if no dump appears within 5 s.
func (js *JobServer) ThreadDump() string {
	if js.quit == nil {
		return "(job server not running)"
	}
	before, _ := os.ReadFile(js.Log)
	if err := js.quit(); err != nil {
		return fmt.Sprintf("(no thread dump: %v)\n%s", err, js.LogTail())
	}
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		b, _ := os.ReadFile(js.Log)
		if len(b) < len(before) {
			continue
		}
		dump := b[len(before):]
		if i := bytes.Index(dump, []byte("Full thread dump")); i >= 0 && bytes.Contains(dump[i:], []byte("JNI global refs")) {
			return string(dump[i:])
		}
	}
	return js.LogTail()
}

// LogTail returns the last lines of the job server's log, for failure
// messages.
func (js *JobServer) LogTail() string { return tail(js.Log) }

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
