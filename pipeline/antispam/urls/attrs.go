package urls

// attrVia says which attributes hold a URL that a reader opens or a client
// loads, and how a host found there is recorded; "" for any other.
func attrVia(key string) string {
	switch key {
	case "href", "action", "formaction":
		return viaHref
	case "src", "background", "poster":
		return viaSrc
	}
	return ""
}

// inline reports elements that render within a line of text. Their tags do
// not separate words, so "http://evil<b></b>.test" is the one link a reader
// sees; every other tag ends a line for the text scan.
func inline(tag string) bool {
	switch tag {
	case "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em",
		"font", "i", "kbd", "mark", "q", "s", "samp", "small", "span",
		"strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr":
		return true
	}
	return false
}
