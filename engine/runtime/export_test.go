package runtime

import "time"

// RecordsAge exposes Retention.recordsAge to the package's external tests.
func RecordsAge(p Retention) time.Duration { return p.recordsAge() }
