//! Exponentials for the kernel pass, written so that the compiler vectorises them, and the
//! element types (f32, f64) a pass runs in.

use ndarray::{ArrayView2, LinalgScalar};

/// exp(x) for x ≤ 0, accurate to about 1 ulp, written so the compiler can vectorise it.
///
/// Cody–Waite reduction x = n ln 2 + r, |r| ≤ ln2/2, then a degree-13 Taylor polynomial
/// (truncation error below 4e-18 relative) and a scale by 2^n through the exponent bits.
/// Arguments below -708 return exp(-708) ≈ 3e-308 instead of a subnormal.
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    exp_neg_in::<false>(x)
}

/// [`exp_neg`] with fused multiply-adds where `FUSED` (for code compiled for FMA: elsewhere
/// they would be slow library calls) or where the build's target has FMA anyway.
#[inline(always)]
pub fn exp_neg_in<const FUSED: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: LN2_HI has its low 32 bits zero, so n * LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let x = x.max(-708.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = fma::<FUSED>(p, r, c);
    }
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

/// a * b + c, fused where `FUSED` or the build's target has FMA (never a slow software
/// fallback where the caller is not compiled for FMA).
#[inline(always)]
fn fma<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FUSED || cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The type kernel values are computed in: f64 on the f64 path; f32 (twice the SIMD lanes,
/// relative error about 1e-7) on the f32 path, whose distances carry f32 rounding anyway.
/// Kernel values are summed in this type over at most 256 columns (in 16 independent partial
/// sums, so each adds at most 16 values), then in f64.
pub trait KernelValue:
    Copy
    + Default
    + PartialOrd
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + Into<f64>
    + Send
    + Sync
{
    /// +∞ (a pair that is not counted).
    const INFINITY: Self;
    /// exp(x) for x ≤ 0.
    fn exp_neg(x: Self) -> Self {
        Self::exp_neg_in::<false>(x)
    }
    /// exp(x) for x ≤ 0, with fused multiply-adds where `FUSED` (see [`exp_neg_in`]).
    fn exp_neg_in<const FUSED: bool>(x: Self) -> Self;
    /// Rounds an f64.
    fn from_f64(x: f64) -> Self;
    /// The values as f32, on the f32 path (for the fused AVX-512 loop).
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
}

impl KernelValue for f64 {
    const INFINITY: Self = f64::INFINITY;
    #[inline(always)]
    fn exp_neg_in<const FUSED: bool>(x: f64) -> Self {
        exp_neg_in::<FUSED>(x)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    }
}

impl KernelValue for f32 {
    const INFINITY: Self = f32::INFINITY;
    #[inline(always)]
    fn exp_neg_in<const FUSED: bool>(x: f32) -> Self {
        exp_neg_f32_in::<FUSED>(x)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
}

/// exp(x) in f32 for x ≤ 0, relative error below 2e-7, vectorisable; below -87 it returns
/// exp(-87) ≈ 1.6e-38.
#[inline(always)]
pub fn exp_neg_f32(x: f32) -> f32 {
    exp_neg_f32_in::<false>(x)
}

/// [`exp_neg_f32`] with fused multiply-adds where `FUSED` (see [`exp_neg_in`]).
#[inline(always)]
pub(crate) fn exp_neg_f32_in<const FUSED: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // 0.693359375: exact in 9 bits, so n * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23
    let x = x.max(-87.0);
    // Fused: t = round(x log2 e) + SHIFT exactly, and the reduction x - n ln 2 in two
    // fused steps (n · LN2_HI is exact, so the first step is too).
    let t = fma32::<FUSED>(x, LOG2E, SHIFT);
    let n = t - SHIFT;
    let r = fma32::<FUSED>(-n, LN2_LO, fma32::<FUSED>(-n, LN2_HI, x));
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = fma32::<FUSED>(p, r, c);
    }
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// [`fma`] in f32.
#[inline(always)]
fn fma32<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED || cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The element types a pass accepts: the GEMM runs in this precision.
pub trait Element: LinalgScalar + Into<f64> + Send + Sync {
    /// The type kernel values are computed and first summed in (see [`KernelValue`]).
    type Kernel: KernelValue;
    /// Machine epsilon of the type (the relative rounding of its Gram matrix).
    const EPSILON: f64;
    /// The most squarings a kernel may be derived through (each doubles the relative error
    /// of the exponential it starts from); longer chains start again from an exponential.
    const MAX_SQUARINGS: u32;
    /// Rounds an f64 to this type.
    fn from_f64(x: f64) -> Self;
    /// The matrix as f32 values, on the f32 path (for the packed Gram kernel).
    fn as_f32_view(z: ArrayView2<'_, Self>) -> Option<ArrayView2<'_, f32>>;
    /// The values as f32, on the f32 path.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
}

impl Element for f32 {
    type Kernel = f32;
    const EPSILON: f64 = f32::EPSILON as f64;
    // 2^4 × the exponential's ~1e-7 relative error stays near 1e-6.
    const MAX_SQUARINGS: u32 = 4;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f32_view(z: ArrayView2<'_, f32>) -> Option<ArrayView2<'_, f32>> {
        Some(z)
    }
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
}

impl Element for f64 {
    type Kernel = f64;
    const EPSILON: f64 = f64::EPSILON;
    const MAX_SQUARINGS: u32 = 64;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f32_view(_: ArrayView2<'_, f64>) -> Option<ArrayView2<'_, f32>> {
        None
    }
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}
