package train

import (
	"math"
)

// Losses holds the scratch buffers of the loss functions, reused across
// batches. The zero value is ready to use; a Losses is not safe for
// concurrent use.
type Losses struct {
	d, g, n, h, zt   []float32
	dt, gt, nt       []float32
	zh, ph, phT, zhT []float32
	c, dc, dcT       []float32
	dzh, dph         []float32
	zn, pn           []float64
}

// Triplet returns the reference's triplet loss with hard mining
// (remove-spec.md §4.4, mining 2) of the embeddings z (B×D, labels) and
// writes its gradient with respect to z into dz (B×D; nil to skip):
//
//	D = SqE(Z, Z)/embSize, p_i = argmax_j D_ij·[ℓ_i=ℓ_j, i≠j],
//	n_i = argmin over j with ℓ_j≠ℓ_i of D_ij, L = mean_i relu(D_ip + margin − D_in).
//
// As in the reference, a row without positives takes p_i = 0 (argmax of a
// zero row) and uses D_i0; a row without negatives contributes nothing (the
// reference would take index 0 there too; its clique batches always have
// negatives).
// Ties pick the lowest index, as torch.argmax/argmin do on CPU.
func (l *Losses) Triplet(dz, z []float32, b, d int, labels []int32, margin, embSize float64) float64 {
	if len(z) != b*d || len(labels) != b {
		panic("train: Triplet: shapes")
	}
	l.d = grow(l.d, b*b)
	l.g = grow(l.g, b*b)
	l.n = grow(l.n, b)
	sqDist(l.d, l.g, l.n, z, b, d, embSize)
	grad := l.g // reuse: the gram is no longer needed
	clear(grad)
	var loss float64
	for i := 0; i < b; i++ {
		row := l.d[i*b : i*b+b]
		p := 0
		best := float32(math.Inf(-1))
		for j, v := range row {
			var m float32
			if labels[j] == labels[i] && j != i {
				m = v
			}
			if m > best {
				best, p = m, j
			}
		}
		ng := -1
		for j, v := range row {
			if labels[j] != labels[i] && (ng < 0 || v < row[ng]) {
				ng = j
			}
		}
		if ng < 0 {
			continue
		}
		t := float64(row[p]) + margin - float64(row[ng])
		if t > 0 {
			loss += t
			grad[i*b+p] += 1 / float32(b)
			grad[i*b+ng] -= 1 / float32(b)
		}
	}
	if dz != nil {
		l.h = grow(l.h, b*b)
		l.zt = grow(l.zt, b*d)
		pairGrad(dz, grad, z, b, d, embSize, l.h, l.zt)
	}
	return loss / float64(b)
}

// KDDistance returns the distance loss of remove-spec.md §4.5 between the
// student's embeddings s (B×D) and the teacher's t (B×dt),
//
//	L = 1/(B(B−1)) Σ_{i≠j} |SqE(S,S)_ij/D − SqE(T,T)_ij/dt|,
//
// and writes its gradient with respect to s into ds (nil to skip). The
// teacher gets no gradient. sign(0) is 0, as torch's L1 gradient.
func (l *Losses) KDDistance(ds, s []float32, b, d int, t []float32, dt int) float64 {
	if len(s) != b*d || len(t) != b*dt || b < 2 {
		panic("train: KDDistance: shapes")
	}
	l.d = grow(l.d, b*b)
	l.g = grow(l.g, b*b)
	l.n = grow(l.n, b)
	l.dt = grow(l.dt, b*b)
	l.gt = grow(l.gt, b*b)
	l.nt = grow(l.nt, b)
	sqDist(l.d, l.g, l.n, s, b, d, float64(d))
	sqDist(l.dt, l.gt, l.nt, t, b, dt, float64(dt))
	grad := l.g
	clear(grad)
	scale := 1 / float64(b*(b-1))
	var loss float64
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			if i == j {
				continue
			}
			e := float64(l.d[i*b+j]) - float64(l.dt[i*b+j])
			loss += math.Abs(e)
			switch {
			case e > 0:
				grad[i*b+j] = float32(scale)
			case e < 0:
				grad[i*b+j] = float32(-scale)
			}
		}
	}
	if ds != nil {
		l.h = grow(l.h, b*b)
		l.zt = grow(l.zt, b*d)
		pairGrad(ds, grad, s, b, d, float64(d), l.h, l.zt)
	}
	return loss * scale
}

// NormSoftmax returns the NormalizedSoftmax loss (remove-spec.md §4.4) of
// the embeddings z (B×D) against the proxies p (C×D), one per class,
//
//	C_ic = z_i·p_c/(‖z_i‖‖p_c‖),  L = mean_i CE(C_i/temperature, labels_i),
//
// and writes its gradients with respect to z into dz and to p into dp (nil
// to skip either). A zero embedding or proxy has no direction: NaN, as in
// the reference.
func (l *Losses) NormSoftmax(dz, dp, z []float32, b, d int, p []float32, c int, labels []int32, temperature float64) float64 {
	if len(z) != b*d || len(p) != c*d || len(labels) != b {
		panic("train: NormSoftmax: shapes")
	}
	l.zh = grow(l.zh, b*d)
	l.ph = grow(l.ph, c*d)
	if cap(l.zn) < b {
		l.zn = make([]float64, b)
	}
	if cap(l.pn) < c {
		l.pn = make([]float64, c)
	}
	zn, pn := l.zn[:b], l.pn[:c]
	normalizeRows(l.zh, zn, z, b, d)
	normalizeRows(l.ph, pn, p, c, d)
	l.c = grow(l.c, b*c)
	mulT(l.c, l.zh, b, d, l.ph, c)
	l.dc = grow(l.dc, b*c)
	var loss float64
	for i := 0; i < b; i++ {
		row := l.c[i*c : i*c+c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, float64(v)/temperature)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v)/temperature - mx)
		}
		lse := mx + math.Log(s)
		y := int(labels[i])
		loss += lse - float64(row[y])/temperature
		g := l.dc[i*c : i*c+c]
		for k, v := range row {
			g[k] = float32(math.Exp(float64(v)/temperature-lse) / (float64(b) * temperature))
		}
		g[y] -= float32(1 / (float64(b) * temperature))
	}
	if dz != nil {
		// dẐ = dC·P̂, then through the normalisation.
		l.phT = grow(l.phT, d*c)
		l.dzh = grow(l.dzh, b*d)
		transpose(l.phT, l.ph, c, d)
		mulT(l.dzh, l.dc, b, c, l.phT, d)
		unnormalizeGrad(dz, l.dzh, l.zh, zn, b, d)
	}
	if dp != nil {
		// dP̂ = dCᵀ·Ẑ.
		l.dcT = grow(l.dcT, c*b)
		l.zhT = grow(l.zhT, d*b)
		l.dph = grow(l.dph, c*d)
		transpose(l.dcT, l.dc, b, c)
		transpose(l.zhT, l.zh, b, d)
		mulT(l.dph, l.dcT, c, b, l.zhT, d)
		unnormalizeGrad(dp, l.dph, l.ph, pn, c, d)
	}
	return loss / float64(b)
}

// normalizeRows writes dst = rows of a divided by their norms (in norms).
func normalizeRows(dst []float32, norms []float64, a []float32, m, k int) {
	for i := 0; i < m; i++ {
		n := norm(a[i*k : i*k+k])
		norms[i] = n
		for j, v := range a[i*k : i*k+k] {
			dst[i*k+j] = float32(float64(v) / n)
		}
	}
}

// unnormalizeGrad maps the gradient g with respect to â = a/‖a‖ to the
// gradient with respect to a: (g − â(â·g))/‖a‖, row by row.
func unnormalizeGrad(dst, g, ah []float32, norms []float64, m, k int) {
	for i := 0; i < m; i++ {
		gi, ai := g[i*k:i*k+k], ah[i*k:i*k+k]
		var dot float64
		for j := range gi {
			dot += float64(gi[j]) * float64(ai[j])
		}
		for j := range gi {
			dst[i*k+j] = float32((float64(gi[j]) - float64(ai[j])*dot) / norms[i])
		}
	}
}
