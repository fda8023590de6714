package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a Durapay binary (frontend-api, workers) run by the stack.
type Process struct {
	Name   string
	cmd    *exec.Cmd
	exited chan error
	err    error
	once   sync.Once
}

// StartProcess runs path with env (added to the current environment), each output line
// prefixed with the process's name.
func StartProcess(name, path string, env []string, out io.Writer) (*Process, error) {
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), env...)
	w := &linePrefixer{out: out, prefix: name}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// Exited yields the process's exit error if it ends by itself.
func (p *Process) Exited() <-chan error { return p.exited }

// Stop asks the process to finish (SIGTERM: it drains in-flight work) and kills it after
// timeout.
func (p *Process) Stop(timeout time.Duration) error {
	p.once.Do(func() { p.err = stopProcess(p.cmd, p.exited, timeout) })
	return p.err
}

// Kill ends the process at once, as a crash would.
func (p *Process) Kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
}

func stopProcess(cmd *exec.Cmd, exited <-chan error, timeout time.Duration) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && !exitErr.Exited() {
			return nil // ended by the signal itself
		}
		return err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within %s; killed", cmd.Path, timeout)
	}
}

// linePrefixer writes each complete line as "name | line".
type linePrefixer struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
	buf    []byte
}

func (l *linePrefixer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		fmt.Fprintf(l.out, "%-12s | %s\n", l.prefix, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}
