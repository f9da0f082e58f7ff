// Package urls finds the hosts that the links in a message point to, so that
// they can be looked up in SURBL/URIBL-style DNS lists, which are keyed by
// registrable domain or by IP address.
//
// Spam hides its links from such lookups: hosts written as decimal or hex
// numbers, "hxxp://" and "[.]" to keep a link from being recognised,
// redirectors that carry the real target in a query parameter, and anchors
// whose visible text names a different site than their href. Each of those
// is undone here, within fixed limits on how much input is read and how
// many hosts are returned, so that a hostile message cannot make the scan
// expensive.
package urls
