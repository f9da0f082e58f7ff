// Package bayes is the gateway's statistical content classifier: it turns a
// message into tokens, learns how often each token appears in spam and in
// ham, and scores new messages from those counts.
//
// The scoring is Gary Robinson's method as SpamBayes and bogofilter use it:
// each token's spam probability is smoothed towards 0.5 by how rarely it was
// seen (Robinson's f(w)), and the strongest tokens are combined with Fisher's
// chi-square test, once for the hypothesis "spam" and once for "ham". This
// was chosen over Graham's original product of probabilities because the
// product saturates at 0 or 1 as soon as a few strong tokens agree, so its
// score says nothing about confidence; the chi-square combination stays near
// 0.5 when the evidence is mixed or weak. That gives the gateway a usable
// middle band ("probable spam") and keeps ham that merely looks commercial
// away from the spam threshold, which is what keeps false positives low.
//
// Tokens are prefixed by where they were found ("subject:", "from:",
// "url:", "body:", ...) so that a word in the Subject and the same word in
// the body are learned separately: their evidence differs.
package bayes
