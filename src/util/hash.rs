//! Stable hashes: the same value on every platform and version (shard assignment, archive and
//! request fingerprints).

/// 64-bit FNV-1a (Fowler–Noll–Vo): h = (h ⊕ byte) · 0x100000001b3 from 0xcbf29ce484222325.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_reference_values() {
        // The published FNV-1a 64 test vectors: "" and "a".
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
