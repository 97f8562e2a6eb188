package transforms

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// TestMain runs the package's pipelines on prism (test on prism, not
// direct: the direct runner never encodes elements and hides coder bugs).
func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}
