// Package evalspam measures the gateway's statistical classifier against
// SpamAssassin and rspamd on the SpamAssassin public corpus. It is a test
// only (TestEvalSpam), run by `make eval-spam`: it downloads the corpus once,
// trains gatewatch with the real `gatewatch train` command and SpamAssassin
// with sa-learn on the same messages, classifies the same held-out messages
// with all three, and writes the comparison to var/eval-spam.txt.
package evalspam
