package antispam

import "testing"

func TestHiddenText(t *testing.T) {
	for html, want := range map[string]bool{
		`<div style="display:none">cheap pills</div>`:             true,
		`<span style="FONT-SIZE: 0px;">x</span>`:                  true,
		`<p style="visibility : hidden">x</p>`:                    true,
		`<p style="opacity:0;">x</p>`:                             true,
		`<p style="display:block">shown</p>`:                      false,
		`<p style="font-size:10px">the display is fine</p>`:       false,
		`<p>we discussed opacity: 0.5 and font-size: 12pt</p>`:    false,
		`display` + string(make([]byte, 100)) + `:none mentioned`: false,
	} {
		if got := hiddenText(html) != ""; got != want {
			t.Errorf("hiddenText(%.50q) = %v, want %v", html, got, want)
		}
	}
}
