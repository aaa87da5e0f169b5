//! The evaluation plan of a pass's kernel variances: widest first, each either an exponential
//! or the square (repeated) of a wider kernel whose variance is a power of two larger
//! (exp(-d/(2v))² = exp(-d/v)), chains no longer than the element type allows.

/// How one kernel variance's values are obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// exp(-a d) directly.
    Exp,
    /// The kernel of an earlier (wider) variance, squared `times` times.
    Square { from: usize, times: u32 },
}

/// Kernel variances in evaluation order (widest first) with their sources.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// a = 1 / (2 v), increasing.
    pub(super) a: Vec<f64>,
    source: Vec<Source>,
    /// For each plan entry, the caller's index.
    pub(super) caller: Vec<usize>,
}

impl Plan {
    /// The plan for `variances`, no kernel derived through more than `max_squarings`
    /// squarings from its exponential.
    pub(super) fn new(variances: &[f64], max_squarings: u32) -> Plan {
        let mut order: Vec<usize> = (0..variances.len()).collect();
        order.sort_by(|&i, &j| variances[j].total_cmp(&variances[i]));
        let mut a = Vec::with_capacity(order.len());
        let mut source = Vec::with_capacity(order.len());
        let mut depth: Vec<u32> = Vec::with_capacity(order.len());
        for &i in &order {
            let v = variances[i];
            let (mut src, mut d) = (Source::Exp, 0);
            let mut av = 1.0 / (2.0 * v);
            'search: for times in 1..=6u32 {
                for (p, &i_prev) in order[..a.len()].iter().enumerate() {
                    let ratio = variances[i_prev] / v;
                    if (ratio / f64::from(1u32 << times) - 1.0).abs() < 1e-12
                        && depth[p] + times <= max_squarings
                    {
                        (src, d) = (Source::Square { from: p, times }, depth[p] + times);
                        av = a[p] * f64::from(1u32 << times);
                        break 'search;
                    }
                }
            }
            a.push(av);
            source.push(src);
            depth.push(d);
        }
        Plan {
            a,
            source,
            caller: order,
        }
    }

    /// Entries grouped by the exponential they derive from: (root, [(entry, squarings)]),
    /// descendants sorted by their number of squarings from the root.
    pub(super) fn groups(&self) -> Vec<(usize, Vec<(usize, u32)>)> {
        let root_of = |mut b: usize| {
            let mut times = 0;
            while let Source::Square { from, times: t } = self.source[b] {
                times += t;
                b = from;
            }
            (b, times)
        };
        let mut groups: Vec<(usize, Vec<(usize, u32)>)> = Vec::new();
        for b in 0..self.a.len() {
            let (root, times) = root_of(b);
            if times == 0 {
                groups.push((b, Vec::new()));
            } else if let Some(g) = groups.iter_mut().find(|g| g.0 == root) {
                g.1.push((b, times));
            }
        }
        for g in &mut groups {
            g.1.sort_by_key(|&(_, t)| t);
        }
        groups
    }
}
