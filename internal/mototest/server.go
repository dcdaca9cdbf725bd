// Package mototest runs moto (`moto_server`, the Python AWS emulator) for
// integration tests and seeds it with the reference VPN outage of DESIGN §1.
//
// Each test starts its own server (moto keeps state for its lifetime):
//
//	s := mototest.Start(t)
//	s.Env(t)
//	sc := mototest.Seed(ctx, t, s)
//
// Without moto_server on PATH the test is skipped loudly, or fails under
// CI=true (see internal/testenv).
package mototest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// Region is the region the emulated account lives in.
const Region = "eu-central-1"

// Account is moto's fixed account ID.
const Account = "123456789012"

// readyTimeout bounds how long a server may take to answer /moto-api/.
const readyTimeout = 30 * time.Second

// Server is one running moto_server.
type Server struct {
	// URL is the server's endpoint, http://127.0.0.1:PORT.
	URL    string
	Region string

	out *tailBuffer
}

// Start runs moto_server on a free loopback port in its own process group,
// waits until it answers, and stops it (the whole group) when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		testenv.Require(t, "moto_server not found on PATH: install it with pip install 'moto[server]'")
	}
	// The port is free when chosen and may be taken before moto binds it:
	// a server that exits before it is ready is retried on another port.
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		s, exited, why := start(t, bin)
		if s != nil {
			return s
		}
		last = why
		if !exited {
			break
		}
	}
	t.Fatalf("moto_server did not start: %s", last)
	return nil
}

// start makes one attempt. It returns the server, or whether the process
// exited early and what it said.
func start(t testing.TB, bin string) (*Server, bool, string) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("pick a port for moto_server: %v", err)
	}
	out := &tailBuffer{max: 64 << 10}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		killGroup(cmd)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("moto_server (pid %d) did not exit after being killed", cmd.Process.Pid)
		}
	}

	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Region: Region, out: out}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case err := <-done:
			return nil, true, fmt.Sprintf("it exited before answering (%v); its output:\n%s", err, out.String())
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return s, false, ""
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, false, fmt.Sprintf("GET %s/moto-api/ did not answer 200 within %s (last: %v); its output:\n%s",
				s.URL, readyTimeout, describe(resp, err), out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describe(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Output returns what the server has written so far (its last 64 KiB).
func (s *Server) Output() string { return s.out.String() }

// leakyVars are variables that could send a test's calls elsewhere than
// moto (another endpoint, a profile, a role, a container or instance
// credential source) or leak the developer's real identity into them.
var leakyVars = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE", "AWS_USE_FIPS_ENDPOINT",
	"AWS_USE_DUALSTACK_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_SDK_UA_APP_ID",
	"VPNAUDIT_PROFILE", "VPNAUDIT_REGION",
}

// Env points the standard AWS configuration chain at the server for the
// rest of the test (see Isolate).
func (s *Server) Env(t testing.TB) {
	t.Helper()
	Isolate(t, s.URL, s.Region)
}

// Isolate points the standard AWS configuration chain at endpoint for the
// rest of the test: AWS_ENDPOINT_URL, static test credentials, the region,
// empty shared config and credentials files, no instance metadata, and
// none of the variables (profiles, roles, per-service endpoints, …) that
// could send a call to real AWS or carry the developer's identity.
func Isolate(t testing.TB, endpoint, region string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			unset(t, k)
		}
	}
	for _, k := range leakyVars {
		unset(t, k)
	}
	dir := t.TempDir()
	configFile, credsFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{configFile, credsFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credsFile)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_DEFAULT_REGION", region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_RETRY_MODE", "standard")
}

// unset removes k for the rest of the test; t.Setenv restores it after.
func unset(t testing.TB, k string) {
	t.Setenv(k, "")
	os.Unsetenv(k)
}

// tailBuffer keeps the last max bytes written to it; it is safe for
// concurrent writers.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
