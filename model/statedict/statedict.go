package statedict

// Tensor is one named tensor of a state_dict. Floating-point tensors of any
// width are converted to float32 on load and kept in Data; integer tensors
// (num_batches_tracked) are kept in Ints. DType records the dtype as stored
// ("F16", "BF16", "F32", "F64", "I64", ...), in safetensors' spelling.
type Tensor struct {
	Shape []int
	DType string
	Data  []float32 // row-major (C order); nil for integer tensors
	Ints  []int64   // row-major; nil for floating-point tensors
}

// Numel returns the number of elements the shape implies (1 for a 0-dim tensor).
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Dict is a state_dict: tensors by key, and the keys in saved order.
type Dict struct {
	Keys    []string
	Tensors map[string]*Tensor
}

// Add appends a tensor under key, keeping saved order.
func (d *Dict) Add(key string, t *Tensor) {
	if d.Tensors == nil {
		d.Tensors = make(map[string]*Tensor)
	}
	if _, ok := d.Tensors[key]; !ok {
		d.Keys = append(d.Keys, key)
	}
	d.Tensors[key] = t
}
