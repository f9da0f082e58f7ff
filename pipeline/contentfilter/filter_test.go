package contentfilter

import (
	"strings"
	"testing"
)

// A minimal PE file: "MZ" header whose e_lfanew points at "PE\0\0".
func fakeExe() []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	b[0x3c] = 0x80
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func TestRules(t *testing.T) {
	f := New(Config{DoubleExtension: true, BidiNames: true, Rules: []Rule{
		{Name: "executables", Names: []string{"*.exe", "*.scr"}},
		{Name: "disguised", Mismatch: true},
		{Name: "big", MaxSize: 1000},
	}})
	pdf := []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n")
	cases := []struct {
		name string
		o    Object
		rule string
	}{
		{"double extension", Object{Name: "invoice.pdf.exe", Data: fakeExe()}, "double_extension"},
		{"double extension padded", Object{Name: "invoice.PDF   .Exe", Data: fakeExe()}, "double_extension"},
		{"right-to-left override", Object{Name: "invoice\u202Efdp.exe", Data: fakeExe()}, "bidi_name"},
		{"exe by name, any case", Object{Name: "Setup.EXE", Data: fakeExe()}, "executables"},
		{"exe renamed pdf", Object{Name: "report.pdf", Declared: "application/pdf", Data: fakeExe()}, "disguised"},
		{"real pdf", Object{Name: "report.pdf", Declared: "application/pdf", Data: pdf}, ""},
		{"too big", Object{Name: "a.txt", Data: []byte("x"), Size: 5000}, "big"},
		{"plain text", Object{Name: "notes.txt", Data: []byte("hello")}, ""},
	}
	for _, tc := range cases {
		h, ok := f.Check(tc.o)
		if (tc.rule == "") == ok || h.Rule != tc.rule {
			t.Errorf("%s: hit %v %+v, want rule %q", tc.name, ok, h, tc.rule)
		}
	}
	if shown, _ := bidiTrick("invoice\u202Efdp.exe"); shown != "invoiceexe.pdf" {
		t.Errorf("shown as %q", shown)
	}
}

func TestConfigErrors(t *testing.T) {
	err := Config{Rules: []Rule{{Name: "Bad Name", Names: []string{"[x"}}, {Name: "empty"}, {Name: "t", Types: []string{"nonsense"}}}}.Validate()
	for _, want := range []string{"rules[0].name", "rules[0].names[0]", "rules[1]: matches nothing", "rules[2].types[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("invoice.pdf.exe", "application/pdf", []byte("MZ"))
	f.Add("a\u202Eb\u2066c", "", []byte("%PDF"))
	flt := New(Config{DoubleExtension: true, BidiNames: true, Rules: []Rule{{Name: "n", Names: []string{"*.[ez]x?"}}, {Name: "m", Mismatch: true}}})
	f.Fuzz(func(t *testing.T, name, declared string, data []byte) {
		h, ok := flt.Check(Object{Name: name, Declared: declared, Data: data, Size: int64(len(data))})
		if ok && h.Rule == "" {
			t.Fatal("a hit without a rule")
		}
	})
}
