package clamd

import (
	"errors"
	"testing"
	"time"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		line    string
		want    Result
		wantErr bool
		tooBig  bool
	}{
		{line: "stream: OK", want: Result{}},
		{line: "stream: Test.MailGW.EICAR-Body.UNOFFICIAL FOUND", want: Result{Infected: true, Threat: "Test.MailGW.EICAR-Body.UNOFFICIAL"}},
		{line: "stream: Win.Test.EICAR_HDB-1 FOUND", want: Result{Infected: true, Threat: "Win.Test.EICAR_HDB-1"}},
		{line: "INSTREAM size limit exceeded. ERROR", wantErr: true, tooBig: true},
		{line: "stream: Can't allocate memory ERROR", wantErr: true},
		{line: "stream: OK ERROR", wantErr: true},
		{line: "stream:  FOUND", wantErr: true},
		{line: "stream: FOUND", wantErr: true},
		{line: "stream: ", wantErr: true},
		{line: "stream: ok", wantErr: true},
		{line: "stream: Eicar", wantErr: true}, // truncated before FOUND
		{line: "1: stream: OK", wantErr: true}, // IDSESSION form, never requested
		{line: "UNKNOWN COMMAND", wantErr: true},
		{line: "", wantErr: true},
		{line: "OK", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseReply(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseReply(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if errors.Is(err, ErrTooLarge) != tt.tooBig {
			t.Errorf("parseReply(%q) error = %v, want ErrTooLarge %v", tt.line, err, tt.tooBig)
		}
		if got != tt.want {
			t.Errorf("parseReply(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		line    string
		want    Version
		wantErr bool
	}{
		{line: "ClamAV 1.4.6/27462/Mon Nov 17 09:28:03 2026",
			want: Version{Engine: "1.4.6", Signatures: 27462, DBTime: time.Date(2026, 11, 17, 9, 28, 3, 0, time.UTC)}},
		{line: "ClamAV 1.0.9/27001/Tue Jun  3 08:00:00 2025",
			want: Version{Engine: "1.0.9", Signatures: 27001, DBTime: time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC)}},
		{line: "ClamAV 1.4.6", want: Version{Engine: "1.4.6"}},
		{line: "ClamAV 1.4.6/27462", want: Version{Engine: "1.4.6", Signatures: 27462}},
		{line: "ClamAV 1.4.6/x/Mon Nov 17 09:28:03 2026", wantErr: true},
		{line: "ClamAV 1.4.6/27462/yesterday", wantErr: true},
		{line: "ClamAV /27462", wantErr: true},
		{line: "PONG", wantErr: true},
		{line: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseVersion(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if got.Engine != tt.want.Engine || got.Signatures != tt.want.Signatures || !got.DBTime.Equal(tt.want.DBTime) {
			t.Errorf("parseVersion(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}
