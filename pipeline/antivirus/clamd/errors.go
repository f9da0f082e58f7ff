package clamd

import "errors"

// ErrTooLarge reports an object above Config.MaxStream. Such objects are
// refused before dialling because clamd, on exceeding StreamMaxLength,
// resets the connection while the client is still writing, so its own error
// usually never reaches us and the failure would look like an outage.
var ErrTooLarge = errors.New("clamd: object exceeds the stream size limit")
