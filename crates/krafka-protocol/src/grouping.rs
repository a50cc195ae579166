//! The shape of every request that lists topics and, under each, its partitions (Fetch,
//! ListOffsets, OffsetCommit, OffsetFetch, the consumer protocol's assignments, …): items
//! grouped by topic. One helper, so every request groups alike.

/// Groups `items` by `key` (a topic, with whatever else names it, such as its id), keeping
/// the first-seen order of keys and of the items under each; `entry` makes each item's entry.
/// Sort the result for a canonical order.
pub fn by_topic<I, K: PartialEq, T>(
    items: impl IntoIterator<Item = I>,
    mut key: impl FnMut(&I) -> K,
    mut entry: impl FnMut(I) -> T,
) -> Vec<(K, Vec<T>)> {
    let mut topics: Vec<(K, Vec<T>)> = Vec::new();
    for item in items {
        let k = key(&item);
        let value = entry(item);
        match topics.iter_mut().find(|(t, _)| *t == k) {
            Some((_, entries)) => entries.push(value),
            None => topics.push((k, vec![value])),
        }
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_entries_keep_first_seen_order() {
        let items = [("b", 1), ("a", 7), ("b", 0), ("a", 2)];
        let grouped = by_topic(items, |(t, _)| *t, |(_, p)| p);
        assert_eq!(grouped, [("b", vec![1, 0]), ("a", vec![7, 2])]);
        assert!(by_topic(Vec::<(&str, i32)>::new(), |(t, _)| *t, |(_, p)| p).is_empty());
    }
}
