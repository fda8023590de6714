// Package logging builds Durapay's JSON logger (logrus) and adapts it to Temporal's logger.
package logging

import (
	"fmt"
	"io"

	"github.com/sirupsen/logrus"
	tlog "go.temporal.io/sdk/log"
)

// New returns a JSON logger at the named level (debug, info, warn, error) tagged with the
// process's name.
func New(w io.Writer, level, process string) (*logrus.Entry, error) {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(lvl)
	l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	return l.WithField("process", process), nil
}

// Temporal adapts a logrus logger to the Temporal SDK's key-value logger interface.
func Temporal(l *logrus.Entry) tlog.Logger { return temporalLogger{l} }

type temporalLogger struct{ e *logrus.Entry }

func (t temporalLogger) fields(keyvals []any) *logrus.Entry {
	f := logrus.Fields{}
	for i := 0; i+1 < len(keyvals); i += 2 {
		f[fmt.Sprint(keyvals[i])] = keyvals[i+1]
	}
	if len(keyvals)%2 == 1 {
		f["extra"] = keyvals[len(keyvals)-1]
	}
	return t.e.WithFields(f)
}

func (t temporalLogger) Debug(msg string, keyvals ...any) { t.fields(keyvals).Debug(msg) }
func (t temporalLogger) Info(msg string, keyvals ...any)  { t.fields(keyvals).Info(msg) }
func (t temporalLogger) Warn(msg string, keyvals ...any)  { t.fields(keyvals).Warn(msg) }
func (t temporalLogger) Error(msg string, keyvals ...any) { t.fields(keyvals).Error(msg) }

// With implements tlog.WithLogger, so workflow and activity loggers keep their tags.
func (t temporalLogger) With(keyvals ...any) tlog.Logger { return temporalLogger{t.fields(keyvals)} }
