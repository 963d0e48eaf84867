// zkroll MSM engine, OpenCL kernels: Pippenger bucket sums on BN254 G1.
//
// The host prepends the field constants (computed from halo2curves' modulus, never typed
// by hand): FQ_P (the modulus p), FQ_R2 (2^512 mod p), FQ_R1 (2^256 mod p, one in Montgomery
// form), FQ_PM2 (p - 2, the inversion exponent), each as eight little-endian 32-bit limbs,
// and FQ_INV (-p^-1 mod 2^32).
//
// Field elements are eight 32-bit limbs, Montgomery form with R = 2^256 inside the kernels,
// canonical form in every buffer the host reads or writes. Points are Jacobian
// (x = X/Z^2, y = Y/Z^3) with Z = 0 the point at infinity; an affine point in a buffer is
// 16 limbs (x then y), and (0, 0), which is not on the curve, stands for infinity, as in
// halo2curves.
//
// The curve is y^2 = x^3 + 3 of prime order: no point has y = 0, so doubling never meets
// a point of order two.

__constant uint P[8] = { FQ_P };
__constant uint R2[8] = { FQ_R2 };
__constant uint R1[8] = { FQ_R1 };
__constant uint PM2[8] = { FQ_PM2 };

typedef struct { uint l[8]; } fq;
typedef struct { fq x; fq y; fq z; } jac;

fq fq_load(__global const uint *src) {
    fq r;
    for (int i = 0; i < 8; i++) r.l[i] = src[i];
    return r;
}

void fq_store(__global uint *dst, fq a) {
    for (int i = 0; i < 8; i++) dst[i] = a.l[i];
}

fq fq_const(__constant const uint *src) {
    fq r;
    for (int i = 0; i < 8; i++) r.l[i] = src[i];
    return r;
}

fq fq_zero(void) {
    fq r;
    for (int i = 0; i < 8; i++) r.l[i] = 0;
    return r;
}

bool fq_is_zero(fq a) {
    uint acc = 0;
    for (int i = 0; i < 8; i++) acc |= a.l[i];
    return acc == 0;
}

// a >= p
bool fq_geq_p(fq a) {
    for (int i = 7; i >= 0; i--) {
        if (a.l[i] > P[i]) return true;
        if (a.l[i] < P[i]) return false;
    }
    return true;
}

fq fq_sub_p(fq a) {
    fq r;
    ulong borrow = 0;
    for (int i = 0; i < 8; i++) {
        ulong d = (ulong)a.l[i] - (ulong)P[i] - borrow;
        r.l[i] = (uint)d;
        borrow = (d >> 32) & 1;
    }
    return r;
}

// Inputs below p; p < 2^254, so the sum fits in 256 bits.
fq fq_add(fq a, fq b) {
    fq r;
    ulong carry = 0;
    for (int i = 0; i < 8; i++) {
        ulong s = (ulong)a.l[i] + (ulong)b.l[i] + carry;
        r.l[i] = (uint)s;
        carry = s >> 32;
    }
    return fq_geq_p(r) ? fq_sub_p(r) : r;
}

fq fq_sub(fq a, fq b) {
    fq r;
    ulong borrow = 0;
    for (int i = 0; i < 8; i++) {
        ulong d = (ulong)a.l[i] - (ulong)b.l[i] - borrow;
        r.l[i] = (uint)d;
        borrow = (d >> 32) & 1;
    }
    if (borrow) {
        ulong carry = 0;
        for (int i = 0; i < 8; i++) {
            ulong s = (ulong)r.l[i] + (ulong)P[i] + carry;
            r.l[i] = (uint)s;
            carry = s >> 32;
        }
    }
    return r;
}

fq fq_dbl(fq a) { return fq_add(a, a); }

fq fq_neg(fq a) { return fq_is_zero(a) ? a : fq_sub(fq_zero(), a); }

// Montgomery product a * b / 2^256 mod p (CIOS). With a, b < p < 2^254 the result before
// the final subtraction is below 2p, so the top word of the accumulator ends at zero.
fq fq_mul(fq a, fq b) {
    uint t[10];
    for (int i = 0; i < 10; i++) t[i] = 0;
    for (int i = 0; i < 8; i++) {
        ulong carry = 0;
        for (int j = 0; j < 8; j++) {
            ulong s = (ulong)a.l[j] * (ulong)b.l[i] + (ulong)t[j] + carry;
            t[j] = (uint)s;
            carry = s >> 32;
        }
        ulong s = (ulong)t[8] + carry;
        t[8] = (uint)s;
        t[9] = (uint)(s >> 32);
        uint m = t[0] * (uint)FQ_INV;
        s = (ulong)m * (ulong)P[0] + (ulong)t[0];
        carry = s >> 32;
        for (int j = 1; j < 8; j++) {
            s = (ulong)m * (ulong)P[j] + (ulong)t[j] + carry;
            t[j - 1] = (uint)s;
            carry = s >> 32;
        }
        s = (ulong)t[8] + carry;
        t[7] = (uint)s;
        t[8] = t[9] + (uint)(s >> 32);
    }
    fq r;
    for (int i = 0; i < 8; i++) r.l[i] = t[i];
    return fq_geq_p(r) ? fq_sub_p(r) : r;
}

fq fq_sqr(fq a) { return fq_mul(a, a); }

// a^(p-2) = a^-1 for a != 0 (Montgomery in, Montgomery out).
fq fq_inv(fq a) {
    fq r = fq_const(R1);
    for (int i = 7; i >= 0; i--) {
        uint e = PM2[i];
        for (int bit = 31; bit >= 0; bit--) {
            r = fq_sqr(r);
            if ((e >> bit) & 1) r = fq_mul(r, a);
        }
    }
    return r;
}

jac jac_infinity(void) {
    jac r;
    r.x = fq_const(R1);
    r.y = fq_const(R1);
    r.z = fq_zero();
    return r;
}

bool jac_is_infinity(jac p) { return fq_is_zero(p.z); }

// dbl-2009-l (a = 0).
jac jac_dbl(jac p) {
    if (jac_is_infinity(p)) return p;
    fq a = fq_sqr(p.x);
    fq b = fq_sqr(p.y);
    fq c = fq_sqr(b);
    fq d = fq_dbl(fq_sub(fq_sub(fq_sqr(fq_add(p.x, b)), a), c));
    fq e = fq_add(fq_dbl(a), a);
    fq f = fq_sqr(e);
    jac r;
    r.x = fq_sub(f, fq_dbl(d));
    r.y = fq_sub(fq_mul(e, fq_sub(d, r.x)), fq_dbl(fq_dbl(fq_dbl(c))));
    r.z = fq_dbl(fq_mul(p.y, p.z));
    return r;
}

// p + (x2, y2), the second point affine and finite (madd-2007-bl), with the equal and
// opposite cases handled.
jac jac_add_affine(jac p, fq x2, fq y2) {
    if (jac_is_infinity(p)) {
        jac r;
        r.x = x2;
        r.y = y2;
        r.z = fq_const(R1);
        return r;
    }
    fq z1z1 = fq_sqr(p.z);
    fq u2 = fq_mul(x2, z1z1);
    fq s2 = fq_mul(fq_mul(y2, p.z), z1z1);
    fq h = fq_sub(u2, p.x);
    fq rr = fq_dbl(fq_sub(s2, p.y));
    if (fq_is_zero(h)) {
        if (fq_is_zero(rr)) return jac_dbl(p);
        return jac_infinity();
    }
    fq hh = fq_sqr(h);
    fq i = fq_dbl(fq_dbl(hh));
    fq j = fq_mul(h, i);
    fq v = fq_mul(p.x, i);
    jac r;
    r.x = fq_sub(fq_sub(fq_sqr(rr), j), fq_dbl(v));
    r.y = fq_sub(fq_mul(rr, fq_sub(v, r.x)), fq_dbl(fq_mul(p.y, j)));
    r.z = fq_sub(fq_sub(fq_sqr(fq_add(p.z, h)), z1z1), hh);
    return r;
}

// p + q, both Jacobian (add-2007-bl), with infinity, equal and opposite cases handled.
jac jac_add(jac p, jac q) {
    if (jac_is_infinity(p)) return q;
    if (jac_is_infinity(q)) return p;
    fq z1z1 = fq_sqr(p.z);
    fq z2z2 = fq_sqr(q.z);
    fq u1 = fq_mul(p.x, z2z2);
    fq u2 = fq_mul(q.x, z1z1);
    fq s1 = fq_mul(fq_mul(p.y, q.z), z2z2);
    fq s2 = fq_mul(fq_mul(q.y, p.z), z1z1);
    fq h = fq_sub(u2, u1);
    fq rr = fq_dbl(fq_sub(s2, s1));
    if (fq_is_zero(h)) {
        if (fq_is_zero(rr)) return jac_dbl(p);
        return jac_infinity();
    }
    fq i = fq_sqr(fq_dbl(h));
    fq j = fq_mul(h, i);
    fq v = fq_mul(u1, i);
    jac r;
    r.x = fq_sub(fq_sub(fq_sqr(rr), j), fq_dbl(v));
    r.y = fq_sub(fq_mul(rr, fq_sub(v, r.x)), fq_dbl(fq_mul(s1, j)));
    r.z = fq_mul(fq_sub(fq_sub(fq_sqr(fq_add(p.z, q.z)), z1z1), z2z2), h);
    return r;
}

jac jac_load(__global const uint *src) {
    jac r;
    r.x = fq_load(src);
    r.y = fq_load(src + 8);
    r.z = fq_load(src + 16);
    return r;
}

void jac_store(__global uint *dst, jac p) {
    fq_store(dst, p.x);
    fq_store(dst + 8, p.y);
    fq_store(dst + 16, p.z);
}

// Affine and canonical (out of Montgomery form); infinity as (0, 0).
void affine_store(__global uint *dst, jac p) {
    if (jac_is_infinity(p)) {
        fq_store(dst, fq_zero());
        fq_store(dst + 8, fq_zero());
        return;
    }
    fq one = fq_zero();
    one.l[0] = 1;
    fq zinv = fq_inv(p.z);
    fq zinv2 = fq_sqr(zinv);
    fq x = fq_mul(p.x, zinv2);
    fq y = fq_mul(p.y, fq_mul(zinv2, zinv));
    fq_store(dst, fq_mul(x, one));
    fq_store(dst + 8, fq_mul(y, one));
}

// Canonical field elements to Montgomery form, in place (`count` elements of 8 limbs).
__kernel void to_montgomery(__global uint *elements, uint count) {
    uint gid = get_global_id(0);
    if (gid >= count) return;
    fq a = fq_load(elements + 8 * gid);
    fq_store(elements + 8 * gid, fq_mul(a, fq_const(R2)));
}

// One task: the sum of up to a fixed number of a bucket's points. `entries` holds
// `point << 1 | negative`; points are affine, Montgomery, finite.
__kernel void bucket_partials(
    __global const uint *points,
    __global const uint *entries,
    __global const uint *task_start,
    __global const uint *task_len,
    __global uint *partials,
    uint tasks)
{
    uint gid = get_global_id(0);
    if (gid >= tasks) return;
    uint start = task_start[gid];
    uint len = task_len[gid];
    jac acc = jac_infinity();
    for (uint k = 0; k < len; k++) {
        uint e = entries[start + k];
        __global const uint *pt = points + 16 * (e >> 1);
        fq x = fq_load(pt);
        fq y = fq_load(pt + 8);
        if (e & 1) y = fq_neg(y);
        acc = jac_add_affine(acc, x, y);
    }
    jac_store(partials + 24 * gid, acc);
}

// One bucket: the sum of its tasks' partial sums (tasks bucket_tasks[b]..bucket_tasks[b+1]).
__kernel void bucket_sums(
    __global const uint *partials,
    __global const uint *bucket_tasks,
    __global uint *buckets,
    uint count)
{
    uint gid = get_global_id(0);
    if (gid >= count) return;
    jac acc = jac_infinity();
    for (uint t = bucket_tasks[gid]; t < bucket_tasks[gid + 1]; t++) {
        acc = jac_add(acc, jac_load(partials + 24 * t));
    }
    jac_store(buckets + 24 * gid, acc);
}

// One segment of `seg_len` consecutive buckets of a window (bucket k holds digit k + 1):
// writes acc = sum_j (j + 1) * B[j] and running = sum_j B[j] over the segment's buckets
// (j counted from the segment's first), both affine. The host adds the segment's offset.
__kernel void window_segments(
    __global const uint *buckets,
    uint buckets_per_window,
    uint seg_len,
    __global uint *out,
    uint count)
{
    uint gid = get_global_id(0);
    if (gid >= count) return;
    uint segments = buckets_per_window / seg_len;
    uint window = gid / segments;
    uint segment = gid % segments;
    __global const uint *base = buckets + 24 * (window * buckets_per_window + segment * seg_len);
    jac running = jac_infinity();
    jac acc = jac_infinity();
    for (uint j = seg_len; j > 0; j--) {
        running = jac_add(running, jac_load(base + 24 * (j - 1)));
        acc = jac_add(acc, running);
    }
    affine_store(out + 32 * gid, acc);
    affine_store(out + 32 * gid + 16, running);
}
