package pipeline

import "slices"

// Statuses: what a recipient's copy of a message is, from the lists and
// the stages' verdicts. Stages report one of them in Verdict.Status.
const (
	StatusBlacklisted  = "blacklisted"   // sender, recipient or client on a black list
	StatusVirus        = "virus"         // malware found
	StatusBanned       = "banned"        // an attachment the rules forbid
	StatusSuspicious   = "suspicious"    // looks like malware, not certain
	StatusUnscannable  = "unscannable"   // could not be checked (encrypted, corrupt)
	StatusError        = "error"         // a stage failed
	StatusSpam         = "spam"          // spam
	StatusProbableSpam = "probable_spam" // probably spam
	StatusFormal       = "formal"        // failed formal checks (headers, DNS)
	StatusClean        = "clean"         // nothing found
	StatusTrusted      = "trusted"       // sender, recipient or client on a white list
)

// Statuses lists every status from the most severe to the least: when
// several apply to one recipient, the first of them decides.
func Statuses() []string {
	return []string{StatusBlacklisted, StatusVirus, StatusBanned, StatusSuspicious, StatusUnscannable, StatusError,
		StatusSpam, StatusProbableSpam, StatusFormal, StatusClean, StatusTrusted}
}

// KnownStatus reports whether s is a status.
func KnownStatus(s string) bool { return slices.Contains(Statuses(), s) }

// WorseStatus returns the more severe of a and b. A status no one knows
// counts as an error: a stage that says something unexpected did not
// decide.
func WorseStatus(a, b string) string {
	all := Statuses()
	ia, ib := slices.Index(all, a), slices.Index(all, b)
	if ia < 0 {
		ia = slices.Index(all, StatusError)
	}
	if ib < 0 {
		ib = slices.Index(all, StatusError)
	}
	return all[min(ia, ib)]
}

// Quarantine categories.
const (
	CategorySpam   = "spam"
	CategoryVirus  = "virus"
	CategoryBanned = "banned"
	CategoryPolicy = "policy"
)

// Categories lists the quarantine categories.
func Categories() []string {
	return []string{CategorySpam, CategoryVirus, CategoryBanned, CategoryPolicy}
}

// CategoryOf is the quarantine category a status files under.
func CategoryOf(status string) string {
	switch status {
	case StatusSpam, StatusProbableSpam, StatusFormal:
		return CategorySpam
	case StatusVirus, StatusSuspicious, StatusUnscannable:
		return CategoryVirus
	case StatusBanned:
		return CategoryBanned
	}
	return CategoryPolicy
}

// HeaderField is one header field to add.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"` // may be folded: continuation lines start with a tab
}

// HeaderBlock writes fields as header lines, CRLF-terminated.
func HeaderBlock(fields []HeaderField) []byte {
	if len(fields) == 0 {
		return nil
	}
	var b []byte
	for _, f := range fields {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// Notification recipients.
const (
	NotifySender     = "sender"
	NotifyRecipients = "recipients"
	NotifyAdmin      = "admin"
)

// Treatment is what happens to a message for some of its recipients.
type Treatment struct {
	Action         Action // accept (deliver), reject, tempfail, discard (drop) or quarantine
	Reply          Reply  // for reject and tempfail
	QuarantineCopy bool   // also keep a copy in quarantine
	MarkSubject    string // prefix for the Subject
	Headers        []HeaderField
	CopyTo         []string // further recipients of the delivered copy (BCC)
	RedirectTo     []string // replace the recipients of the delivered copy
	RemoveParts    bool     // replace the parts the stages flagged with a notice
	Notify         []string // sender, recipients, admin
}

// Changes reports whether delivering under t changes the content or the
// envelope, so that the copy needs its own queue entry.
func (t Treatment) Changes() bool {
	return t.MarkSubject != "" || len(t.Headers) > 0 || len(t.CopyTo) > 0 || len(t.RedirectTo) > 0 || t.RemoveParts
}

// Outcome is one treatment for the recipients that share it.
type Outcome struct {
	Recipients []Recipient
	Group      string // the policy group that decided
	Status     string // the recipients' status
	Treatment
}
