//! Disjoint sets with path halving and union by size.

/// Disjoint sets over `0..n`.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// Representative of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Joins the sets of `a` and `b`; true when they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        true
    }

    /// Dense component ids in order of each component's smallest member.
    pub fn components(&mut self) -> Vec<u32> {
        let n = self.parent.len();
        let mut id_of_root = vec![u32::MAX; n];
        let mut next = 0;
        (0..n as u32)
            .map(|x| {
                let r = self.find(x) as usize;
                if id_of_root[r] == u32::MAX {
                    id_of_root[r] = next;
                    next += 1;
                }
                id_of_root[r]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: components equal those of a naive label-propagation on random graphs.
    #[test]
    fn matches_naive_components_on_random_graphs() {
        let mut s = 3u64;
        for n in [1usize, 2, 10, 50] {
            for _ in 0..20 {
                let mut edges = Vec::new();
                for _ in 0..n {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let a = (s >> 33) as usize % n;
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let b = (s >> 33) as usize % n;
                    edges.push((a as u32, b as u32));
                }
                let mut uf = UnionFind::new(n);
                for &(a, b) in &edges {
                    uf.union(a, b);
                }
                let got = uf.components();
                let mut label: Vec<usize> = (0..n).collect();
                loop {
                    let mut changed = false;
                    for &(a, b) in &edges {
                        let m = label[a as usize].min(label[b as usize]);
                        for x in [a, b] {
                            if label[x as usize] != m {
                                label[x as usize] = m;
                                changed = true;
                            }
                        }
                    }
                    if !changed {
                        break;
                    }
                }
                for i in 0..n {
                    for j in 0..n {
                        assert_eq!(got[i] == got[j], label[i] == label[j]);
                    }
                }
            }
        }
    }
}
