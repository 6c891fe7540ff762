using Percept.Neighbors;

namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>
    /// Suspected mislabels and ambiguous samples: label_issue combines the model's confidence in the given label (against
    /// its class's threshold, confident-learning style) and the share of neighbours that carry it; samples the model puts
    /// in another class are grouped by (label, perceived class), clear cases apart from mixed evidence.
    /// </summary>
    static void Mislabels(Population population, KnnGraph graph, int[] finite, int k, float[] agreement, float[] labelIssue, HashSet<int> farOut,
        HashSet<int> variants, List<InsightCard> cards, Func<int, string> name, Func<int, InsightSample> sample)
    {
        var (_, labels, probabilities, classes, _, _) = population;
        int n = labels.Length;
        // Each class's threshold is the mean probability the model gives it on the samples labelled with it.
        var threshold = new double[classes];
        var counts = new int[classes];
        for (int i = 0; i < n; i++)
            if (labels[i] >= 0 && labels[i] < classes && float.IsFinite(probabilities![i * classes])) { threshold[labels[i]] += probabilities[i * classes + labels[i]]; counts[labels[i]]++; }
        for (int c = 0; c < classes; c++) threshold[c] = counts[c] > 0 ? threshold[c] / counts[c] : 1;
        // Across training, when the run is an epoch of one: the mean probability of the label over the epochs.
        var history = population.LabelProbabilityHistory;
        double Confidence(int i, ReadOnlySpan<float> p)
        {
            if (history == null) return p[labels[i]];
            double sum = 0; int count = 0;
            foreach (float v in history.Row(i)) if (float.IsFinite(v)) { sum += v; count++; }
            return count > 0 ? sum / count : p[labels[i]];
        }
        var flagged = new List<(int Index, int Label, int Perceived, float Score, bool Clear)>();
        var fitted = new List<(int Index, int Label, int Perceived, float Score, bool Clear)>();
        for (int row = 0; row < finite.Length; row++)
        {
            int i = finite[row];
            if (labels[i] < 0 || labels[i] >= classes || float.IsNaN(agreement[i])) continue;
            var p = probabilities.AsSpan(i * classes, classes);
            // How likely the label is right: the model's probability of it, discounted by the neighbours that do not carry
            // it (by half when none does). An outlier's neighbours are far and say little about it: only the model speaks.
            double confidence = Confidence(i, p);
            double right = farOut.Contains(i) ? confidence : confidence * (0.5 + 0.5 * agreement[i]);
            float score = (float)Math.Clamp(1 - right, 0, 1);
            labelIssue[i] = score;
            int other = ArgMaxExcept(p, labels[i]);
            bool modelDisagrees = p[other] >= threshold[other] && p[labels[i]] < threshold[labels[i]];
            // Members of a rare variant are reported as such, not as mislabels (their score stays).
            if (variants.Contains(i) || farOut.Contains(i)) continue;
            if (!modelDisagrees && ArgMax(p) == labels[i] && agreement[i] <= 0.2f)
            {
                // The model fits the label but the neighbours say another class: at least 70% of them one class. On data
                // the model was trained on, that is how a memorised wrong label looks.
                var others = new int[classes];
                foreach (int j in graph.NeighborsOf(row)) { int l = labels[finite[j]]; if (l >= 0 && l < classes && l != labels[i]) others[l]++; }
                int b = Array.IndexOf(others, others.Max());
                if (others[b] >= 0.7 * k) fitted.Add((i, labels[i], b, score, true));
                continue;
            }
            if (score < 0.5 || !modelDisagrees) continue;
            // A clear case: the model is confident in the other class and most neighbours carry its label.
            int votes = 0;
            foreach (int j in graph.NeighborsOf(row)) if (labels[finite[j]] == other) votes++;
            flagged.Add((i, labels[i], other, score, votes > k / 2));
        }
        foreach (var group in flagged.GroupBy(f => (f.Label, f.Perceived, f.Clear)).OrderByDescending(g => g.Count()).Take(12))
        {
            var (label, perceived, clear) = group.Key;
            // Critical when the group is a noticeable share (5%) of the class's labelled samples.
            cards.Add(new InsightCard(clear ? "suspected-mislabel" : "ambiguous", clear && group.Count() >= 0.05 * counts[label] ? "critical" : "warning",
                $"labelled {name(label)}, perceived as {name(perceived)}: {group.Count()} samples{(clear ? "" : " (mixed evidence)")}",
                [name(label), name(perceived)],
                new Dictionary<string, object> { ["count"] = group.Count(), ["mean_label_issue"] = Math.Round(group.Average(f => f.Score), 4), ["threshold_label"] = Math.Round(threshold[label], 4), ["threshold_perceived"] = Math.Round(threshold[perceived], 4) },
                group.OrderByDescending(f => f.Score).Take(MaxSamplesPerCard).Select(f => sample(f.Index)).ToArray(), null,
                clear ? $"check these labels: the model and most of their neighbours say {name(perceived)}"
                      : "these inputs are ambiguous between the two classes: review them, or accept either label"));
        }
        // Labels the model fits against its neighbours: a warning on training data (where a model memorises), else information.
        var splits = population.Splits;
        foreach (var group in fitted.GroupBy(f => (f.Label, f.Perceived)).OrderByDescending(g => g.Count()).Take(8))
        {
            var (label, perceived) = group.Key;
            bool training = splits != null && group.Count(f => splits[f.Index].Contains("train", StringComparison.OrdinalIgnoreCase)) * 2 > group.Count();
            cards.Add(new InsightCard("suspected-mislabel", training ? "warning" : "info",
                $"labelled {name(label)}, perceived as {name(perceived)} by their neighbours: {group.Count()} samples the model fits as labelled",
                [name(label), name(perceived)],
                new Dictionary<string, object> { ["count"] = group.Count(), ["evidence"] = "neighbours", ["mean_neighbor_agreement"] = Math.Round(group.Average(f => agreement[f.Index]), 4), ["training_data"] = training },
                group.OrderByDescending(f => f.Score).Take(MaxSamplesPerCard).Select(f => sample(f.Index)).ToArray(), null,
                training ? $"the model has learnt these labels, but at least 70% of each sample's neighbours are {name(perceived)}: labels a model memorises look like this; check them"
                         : $"at least 70% of each sample's neighbours are {name(perceived)} though the model agrees with the label: check them, or see what sets them apart"));
        }
    }
}
