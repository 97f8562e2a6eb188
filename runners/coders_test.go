package runners

import (
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// schemaRow is a struct without a custom coder: Beam codes it as a schema Row.
type schemaRow struct {
	Name   string
	Values []float32
}

func init() { beam.RegisterType(reflect.TypeOf((*schemaRow)(nil)).Elem()) }

func TestRowCodersFindsSchemaRows(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	rows := beam.Reshuffle(s, beam.Create(s, schemaRow{Name: "a"}))
	beam.Reshuffle(s, beam.Create(s, "plain strings"))
	_ = rows
	got, err := RowCoders(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("RowCoders found no Row coder in a pipeline of schemaRow")
	}
	for _, c := range got {
		if strings.Contains(c, "plain strings") {
			t.Errorf("RowCoders lists a string collection: %s", c)
		}
	}
	p2, s2 := beam.NewPipelineWithRoot()
	beam.Reshuffle(s2, beam.Create(s2, "x", "y"))
	if got, err := RowCoders(p2); err != nil || len(got) != 0 {
		t.Errorf("RowCoders on a pipeline of strings: %v, %v; want none", got, err)
	}
}
