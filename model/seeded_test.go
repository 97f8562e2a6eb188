package model

import "testing"

func TestSeededCheckpointIsDeterministic(t *testing.T) {
	a, b, c := SeededCheckpoint(32, 5), SeededCheckpoint(32, 5), SeededCheckpoint(32, 6)
	if a.Hash() != b.Hash() {
		t.Fatal("same seed, different weights")
	}
	if a.Hash() == c.Hash() {
		t.Fatal("different seeds, same weights")
	}
}
