package main

import (
	"testing"
	"time"

	"github.com/durapay/durapay/schemas"
)

// The history archive must read a closed workflow well before the namespace's retention can
// delete it.
func TestArchiveOutrunsRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		retention, every time.Duration
		ok               bool
	}{
		{24 * time.Hour, time.Minute, true}, // the dev server's default
		{13 * time.Hour, time.Hour, true},
		{13 * time.Hour, 90 * time.Minute, false},
		{72 * time.Hour, 72 * time.Hour, false},
	}
	for _, tt := range tests {
		if err := archiveOutrunsRetention(tt.retention, tt.every); (err == nil) != tt.ok {
			t.Errorf("retention %s, archive every %s: %v", tt.retention, tt.every, err)
		}
	}
}

// The history archive runs on the finance queue at its period, unless it is 0.
func TestHistoryArchiveSchedule(t *testing.T) {
	t.Parallel()
	find := func(cfg workerConfig) *schedule {
		for _, s := range schedules(cfg) {
			if s.id == schemas.ScheduleHistoryArchive {
				return &s
			}
		}
		return nil
	}
	s := find(workerConfig{HistoryArchiveEvery: 2 * time.Minute})
	if s == nil || s.action.TaskQueue != schemas.TaskQueueFinance || s.action.Workflow != schemas.HistoryArchiveWorkflowName ||
		len(s.spec.Intervals) != 1 || s.spec.Intervals[0].Every != 2*time.Minute {
		t.Fatalf("schedule %+v", s)
	}
	if in := s.action.Args[0].(schemas.HistoryArchiveInput); in.Overlap <= 0 {
		t.Errorf("input %+v: the archive must list again what visibility may show late", in)
	}
	if s := find(workerConfig{}); s != nil {
		t.Errorf("with HISTORY_ARCHIVE_EVERY=0: %+v", s)
	}
}
