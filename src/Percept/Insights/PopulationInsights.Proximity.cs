using Percept.Neighbors;

namespace Percept.Insights;

public static partial class PopulationInsights
{
    /// <summary>Class proximity: where each class's neighbour edges land, and whether closeness predicts confusion (Spearman over pairs of classes).</summary>
    static ClassProximity Proximity(Population population, KnnGraph graph, int[] finite, float[] agreement, List<InsightCard> cards, Func<int, string> name)
    {
        var (_, labels, probabilities, classes, _, _) = population;
        int n = labels.Length;
        var edges = new double[classes, classes];
        for (int r = 0; r < finite.Length; r++)
        {
            int a = labels[finite[r]];
            if (a < 0 || a >= classes) continue;
            int same = 0, known = 0;
            foreach (int j in graph.NeighborsOf(r))
            {
                int b = labels[finite[j]];
                if (b < 0 || b >= classes) continue;
                edges[a, b]++;
                known++;
                if (b == a) same++;
            }
            if (known > 0) agreement[finite[r]] = same / (float)known;
        }
        var matrix = new double[classes][];
        for (int a = 0; a < classes; a++)
        {
            double total = 0;
            for (int b = 0; b < classes; b++) total += edges[a, b];
            matrix[a] = new double[classes];
            for (int b = 0; b < classes; b++) matrix[a][b] = total > 0 ? Math.Round(edges[a, b] / total, 5) : 0;
        }
        int[]? predictions = probabilities != null ? Enumerable.Range(0, n).Select(i => ArgMax(probabilities.AsSpan(i * classes, classes))).ToArray() : null;
        var confusion = new double[classes, classes];
        if (predictions != null)
            for (int i = 0; i < n; i++)
                if (labels[i] >= 0 && labels[i] < classes && predictions[i] >= 0) confusion[labels[i], predictions[i]]++;
        var pairs = new List<(int A, int B, double Close, double Confused)>();
        for (int a = 0; a < classes; a++)
            for (int b = a + 1; b < classes; b++)
                pairs.Add((a, b, matrix[a][b] + matrix[b][a], confusion[a, b] + confusion[b, a]));
        double spearman = predictions != null && pairs.Count > 2 ? Numerics.Spearman(pairs.Select(p => p.Close).ToArray(), pairs.Select(p => p.Confused).ToArray()) : double.NaN;
        // The closest pairs: more than twice the cross-class share an even spread would give. Each card lists the samples
        // between the two classes: those of either whose neighbours cross most to the other.
        foreach (var p in pairs.OrderByDescending(p => p.Close).Where(p => p.Close > 0 && p.Close >= 2 * pairs.Average(q => q.Close)).Take(8))
        {
            var between = new List<(int Index, int Cross)>();
            for (int r = 0; r < finite.Length; r++)
            {
                int a = labels[finite[r]];
                if (a != p.A && a != p.B) continue;
                int other = a == p.A ? p.B : p.A, cross = 0;
                foreach (int j in graph.NeighborsOf(r)) if (labels[finite[j]] == other) cross++;
                if (cross > 0) between.Add((finite[r], cross));
            }
            cards.Add(new InsightCard("close-classes", p.Close > 0.2 ? "warning" : "info",
                $"{name(p.A)} ↔ {name(p.B)}: {100 * p.Close / 2:F1}% of neighbours cross{(predictions != null ? $"; {p.Confused:N0} confusions" : "")}",
                [name(p.A), name(p.B)],
                new Dictionary<string, object> { ["share_a_to_b"] = matrix[p.A][p.B], ["share_b_to_a"] = matrix[p.B][p.A], ["confusions"] = p.Confused, ["spearman_proximity_confusion"] = Math.Round(spearman, 4), ["samples_between"] = between.Count },
                between.OrderByDescending(b => b.Cross).ThenBy(b => b.Index).Take(MaxSamplesPerCard).Select(b => new InsightSample(b.Index, population.Ids[b.Index])).ToArray(), null,
                "the model sees these classes as alike: look at the samples between them (listed) for what tells them apart, and add such examples")
            { Impact = predictions != null ? ImpactOfConfusion * p.Confused : ImpactOfConfusion * ImpactOfConfusion * between.Count });
        }
        return new ClassProximity(Enumerable.Range(0, classes).Select(name).ToArray(), matrix, Math.Round(spearman, 4));
    }
}
