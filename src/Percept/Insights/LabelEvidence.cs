using Percept.Neighbors;

namespace Percept.Insights;

/// <summary>What <c>label_issue</c> leans on, chosen from what the run holds and how the model treats its labels.</summary>
public enum LabelEvidenceBasis
{
    /// <summary>The model's probability of the label, discounted by the neighbours that do not carry it: a model that has not fitted the labels it disagrees with (held-out data).</summary>
    Model,
    /// <summary>The neighbours alone, each voting with its own reliability: a model that fits its labels (training data, memorised noise) or gives no class scores.</summary>
    Neighbours,
    /// <summary>The training history: the label's margin and the neighbours' agreement at every epoch, averaged.</summary>
    History,
}

/// <summary>
/// The evidence about each labelled sample's label: the model's class probabilities, the labels of its neighbours in
/// perception space (its k nearest and the samples that list it among theirs, each voting with the share of its own
/// neighbours that agree with it, iterated three times, so that a mislabelled neighbour says less), and a training's
/// history when there is one. It scores a label (<c>label_issue</c>), names the class a sample is perceived as besides its
/// label, tells a clear case from a split one, and scores any label the sample might have been given, which is how
/// planted flips are simulated to estimate counts and precision (<see cref="LabelIssueCounts"/>).
/// Rows are the compact graph's (finite samples only).
/// </summary>
sealed class LabelEvidence
{
    /// <summary>
    /// Neighbours per sample the evidence reads (both directions of a graph of this many): the run's graph when it holds
    /// fewer, so that the same evidence comes whatever map the run made (t-SNE's graph holds 90).
    /// </summary>
    public const int GraphK = 15;

    /// <summary>A sample whose neighbours mostly carry another label has agreement at most this.</summary>
    const double LowAgreement = 0.2;
    /// <summary>At least this many such samples before their predictions say whether the model fits its labels.</summary>
    const int MinLowAgreement = 10;
    const int ReliabilityRounds = 3;

    readonly int[] _labels;
    readonly float[]? _probabilities;
    readonly int[] _finite;
    readonly KnnGraph _graph;
    readonly int[] _reverseStart, _reverse;
    readonly double[] _reliability;
    readonly double[] _classMeanWeighted;
    readonly double[]? _meanMargin, _historyProduct, _historyReliable, _meanLabelProbability;
    readonly double[] _scratch;
    readonly bool[] _voted;
    /// <summary>Per row: the model's class scores are all finite.</summary>
    readonly bool[] _scored;
    /// <summary>Per row: the model's three most probable classes, most first (−1 where there are fewer).</summary>
    readonly int[] _top;
    readonly List<int> _touched = [];

    public int Classes { get; }
    public LabelEvidenceBasis Basis { get; }
    /// <summary>Among labelled samples whose neighbours mostly carry another label, the share the model predicts as labelled (NaN: not measured).</summary>
    public double FitsAgainstNeighbours { get; } = double.NaN;
    /// <summary>How many samples that share was measured on.</summary>
    public int LowAgreementCount { get; }
    /// <summary>Neighbours per sample in the graph.</summary>
    public int K => _graph.K;

    /// <param name="labels">Per sample (all N), −1 for none.</param>
    /// <param name="probabilities">N × classes, or null.</param>
    /// <param name="graph">The compact graph over <paramref name="finite"/>.</param>
    public LabelEvidence(int[] labels, float[]? probabilities, int classes, int[] finite, KnnGraph graph, Population population)
    {
        Classes = classes;
        _probabilities = probabilities;
        _finite = finite;
        _graph = graph;
        int rows = finite.Length;
        _labels = new int[rows];
        for (int r = 0; r < rows; r++) { int l = labels[finite[r]]; _labels[r] = l >= 0 && l < classes ? l : -1; }
        _scratch = new double[classes];
        _voted = new bool[classes];
        _scored = new bool[rows];
        _top = new int[rows * 3];
        Array.Fill(_top, -1);
        if (probabilities != null)
            for (int r = 0; r < rows; r++)
            {
                var p = probabilities.AsSpan(finite[r] * classes, classes);
                _scored[r] = Numerics.AllFinite(p);
                if (!_scored[r]) continue;
                for (int c = 0; c < classes; c++)
                    for (int t = 0; t < 3; t++)
                    {
                        int at = _top[r * 3 + t];
                        if (at >= 0 && p[c] <= p[at]) continue;
                        for (int u = 2; u > t; u--) _top[r * 3 + u] = _top[r * 3 + u - 1];
                        _top[r * 3 + t] = c;
                        break;
                    }
            }

        (_reverseStart, _reverse) = Reverse(graph);

        _reliability = Reliability(graph, _labels, _reverseStart, _reverse);
        _classMeanWeighted = new double[classes];
        var counts = new int[classes];
        for (int r = 0; r < rows; r++) if (_labels[r] >= 0) { _classMeanWeighted[_labels[r]] += _reliability[r]; counts[_labels[r]]++; }
        for (int c = 0; c < classes; c++) _classMeanWeighted[c] = counts[c] > 0 ? _classMeanWeighted[c] / counts[c] : 1;

        // A training's history, averaged over the epochs (NaN entries skipped).
        if (population.LabelMarginHistory is { } margins && population.LabelAgreementHistory is { } agreements
            && population.LabelReliableAgreementHistory is { } reliable && margins.Columns == agreements.Columns && margins.Columns == reliable.Columns)
            (_meanMargin, _historyProduct, _historyReliable) = HistoryTerms(margins, agreements, reliable, finite);
        if (population.LabelProbabilityHistory is { } history) _meanLabelProbability = RowMeans(history, finite);

        // Does the model fit labels its neighbours contradict? On held-out data it mostly predicts what the neighbours
        // say; a model that has memorised its training labels predicts the label.
        if (probabilities != null)
        {
            int low = 0, fits = 0;
            for (int r = 0; r < rows; r++)
            {
                if (_labels[r] < 0 || !_scored[r]) continue;
                if (Agreement(r, _labels[r], Math.Min(10, graph.K)) > LowAgreement) continue;
                low++;
                if (ArgMax(probabilities.AsSpan(finite[r] * classes, classes)) == _labels[r]) fits++;
            }
            LowAgreementCount = low;
            if (low > 0) FitsAgainstNeighbours = fits / (double)low;
        }
        Basis = _historyProduct != null && probabilities != null ? LabelEvidenceBasis.History
            : probabilities == null || (LowAgreementCount >= MinLowAgreement && FitsAgainstNeighbours >= 0.5) ? LabelEvidenceBasis.Neighbours
            : LabelEvidenceBasis.Model;
    }

    /// <summary>
    /// Each row's reliability-weighted agreement: the share of its neighbours (both directions) that carry its label, each
    /// neighbour voting with its own such share of the previous round (1 at first), <see cref="ReliabilityRounds"/> rounds.
    /// Rows without a label (−1) get NaN and do not vote.
    /// </summary>
    /// <param name="graph">Neighbours per row (−1: none).</param>
    public static double[] ReliableAgreement(KnnGraph graph, int[] labels)
    {
        var (start, reverse) = Reverse(graph);
        var reliability = Reliability(graph, labels, start, reverse);
        for (int r = 0; r < labels.Length; r++) if (labels[r] < 0) reliability[r] = double.NaN;
        return reliability;
    }

    static (int[] Start, int[] Reverse) Reverse(KnnGraph graph)
    {
        int rows = graph.Count;
        var start = new int[rows + 1];
        for (int r = 0; r < rows; r++) foreach (int j in graph.NeighborsOf(r)) if (j >= 0) start[j + 1]++;
        for (int r = 0; r < rows; r++) start[r + 1] += start[r];
        var reverse = new int[start[rows]];
        var fill = start[..rows];
        for (int r = 0; r < rows; r++) foreach (int j in graph.NeighborsOf(r)) if (j >= 0) reverse[fill[j]++] = r;
        return (start, reverse);
    }

    static double[] Reliability(KnnGraph graph, int[] labels, int[] start, int[] reverse)
    {
        int rows = graph.Count;
        var reliability = new double[rows];
        Array.Fill(reliability, 1.0);
        var next = new double[rows];
        for (int round = 0; round < ReliabilityRounds; round++)
        {
            for (int r = 0; r < rows; r++) next[r] = labels[r] < 0 ? 1 : Weighted(graph, labels, start, reverse, r, labels[r], reliability);
            Array.Copy(next, reliability, rows);
        }
        return reliability;
    }

    static double Weighted(KnnGraph graph, int[] labels, int[] start, int[] reverse, int r, int label, double[] reliability)
    {
        double same = 0, all = 0;
        foreach (int j in graph.NeighborsOf(r))
        {
            if (j < 0 || labels[j] < 0) continue;
            all += reliability[j];
            if (labels[j] == label) same += reliability[j];
        }
        for (int t = start[r]; t < start[r + 1]; t++)
        {
            int j = reverse[t];
            if (labels[j] < 0) continue;
            all += reliability[j];
            if (labels[j] == label) same += reliability[j];
        }
        return all > 0 ? same / all : 0.5;
    }

    /// <summary>An epoch's weight against the one before it: the early epochs, before a wrong label is memorised, say most.</summary>
    const double EpochDecay = 0.5;

    /// <summary>
    /// Per row, over the epochs with a finite margin, weighted 1, ½, ¼, … from the first: the mean margin, the mean of
    /// (margin + 1)/2 · (¼ + ¾ agreement), and the mean reliability-weighted agreement.
    /// </summary>
    static (double[] Margin, double[] Product, double[] Reliable) HistoryTerms(Matrix margins, Matrix agreements, Matrix reliable, int[] finite)
    {
        int rows = finite.Length, epochs = margins.Columns;
        var margin = new double[rows]; var product = new double[rows]; var weighted = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            var m = margins.Row(finite[r]); var a = agreements.Row(finite[r]); var w = reliable.Row(finite[r]);
            double weights = 0, sm = 0, sp = 0, sw = 0, weight = 1;
            for (int e = 0; e < epochs; e++, weight *= EpochDecay)
            {
                if (!float.IsFinite(m[e])) continue;
                double agreement = float.IsFinite(a[e]) ? a[e] : 0.5, vote = float.IsFinite(w[e]) ? w[e] : agreement;
                weights += weight; sm += weight * m[e]; sp += weight * (m[e] + 1) / 2 * (0.25 + 0.75 * agreement); sw += weight * vote;
            }
            margin[r] = weights > 0 ? sm / weights : double.NaN;
            product[r] = weights > 0 ? sp / weights : double.NaN;
            weighted[r] = weights > 0 ? sw / weights : double.NaN;
        }
        return (margin, product, weighted);
    }

    static double[] RowMeans(Matrix m, int[] finite)
    {
        var means = new double[finite.Length];
        for (int r = 0; r < finite.Length; r++)
        {
            double sum = 0; int count = 0;
            foreach (float v in m.Row(finite[r])) if (float.IsFinite(v)) { sum += v; count++; }
            means[r] = count > 0 ? sum / count : double.NaN;
        }
        return means;
    }

    public int Label(int r) => _labels[r];

    public int Sample(int r) => _finite[r];

    /// <summary>The share of the first <paramref name="k"/> neighbours labelled <paramref name="label"/> (0.5 when none is labelled).</summary>
    public double Agreement(int r, int label, int k)
    {
        int same = 0, known = 0;
        var nb = _graph.NeighborsOf(r);
        for (int t = 0; t < Math.Min(k, nb.Length); t++)
        {
            if (nb[t] < 0 || _labels[nb[t]] < 0) continue;
            known++;
            if (_labels[nb[t]] == label) same++;
        }
        return known > 0 ? same / (double)known : 0.5;
    }

    /// <summary>The reliability-weighted share of the neighbours (both directions) labelled <paramref name="label"/>.</summary>
    public double Weighted(int r, int label) => Weighted(_graph, _labels, _reverseStart, _reverse, r, label, _reliability);

    ReadOnlySpan<float> P(int r) => _probabilities.AsSpan(_finite[r] * Classes, Classes);

    bool HasScores(int r) => _scored[r];

    /// <summary><c>label_issue</c> of the sample's own label, in [0, 1]; <paramref name="farOut"/>: its neighbours are far and say little.</summary>
    public double Score(int r, bool farOut)
    {
        int y = _labels[r];
        if (Basis == LabelEvidenceBasis.History && _historyProduct != null && double.IsFinite(_historyProduct[r]))
            return Math.Clamp(1 - _historyProduct[r] * (0.25 + 0.75 * _historyReliable![r]), 0, 1);
        if (Basis == LabelEvidenceBasis.Model && HasScores(r))
        {
            double confidence = _meanLabelProbability != null && double.IsFinite(_meanLabelProbability[r]) ? _meanLabelProbability[r] : P(r)[y];
            return Math.Clamp(1 - confidence * (farOut ? 1 : 0.5 + 0.5 * Agreement(r, y, 10)), 0, 1);
        }
        return NeighbourScore(r, y);
    }

    /// <summary>
    /// The score the sample would have if it were labelled <paramref name="label"/>, the model and the neighbours as they
    /// are: a simulated flip. With a history, the final model and neighbours stand for every epoch (a flip the model never
    /// fitted).
    /// </summary>
    public double ScoreAs(int r, int label)
    {
        if (Basis == LabelEvidenceBasis.History && HasScores(r))
        {
            var p = P(r);
            double margin = p[label] - p[ArgMaxExcept(p, label)];
            return Math.Clamp(1 - (margin + 1) / 2 * (0.25 + 0.75 * Agreement(r, label, _graph.K)) * (0.25 + 0.75 * Weighted(r, label)), 0, 1);
        }
        if (Basis == LabelEvidenceBasis.Model && HasScores(r)) return Math.Clamp(1 - P(r)[label] * (0.5 + 0.5 * Agreement(r, label, 10)), 0, 1);
        return NeighbourScore(r, label);
    }

    /// <summary>How far below its class's usual reliability-weighted agreement the sample's neighbours fall for this label.</summary>
    double NeighbourScore(int r, int label) => HasVotes(r) ? Math.Clamp(_classMeanWeighted[label] - Weighted(r, label), 0, 1) : 0;

    /// <summary>Whether any neighbour of the row (either direction) is labelled: an isolated sample's neighbours say nothing.</summary>
    bool HasVotes(int r)
    {
        foreach (int j in _graph.NeighborsOf(r)) if (j >= 0 && _labels[j] >= 0) return true;
        for (int t = _reverseStart[r]; t < _reverseStart[r + 1]; t++) if (_labels[_reverse[t]] >= 0) return true;
        return false;
    }

    /// <summary>
    /// The class the sample is perceived as besides <paramref name="label"/>: the most likely other class by the model's
    /// probability and the neighbours' weighted votes, half each (the neighbours alone when the model fits its labels).
    /// </summary>
    public int Perceived(int r, int label)
    {
        double all = Votes(r);
        double modelWeight = Basis == LabelEvidenceBasis.Neighbours ? 1e-3 : 0.5;
        int best = -1;
        double bestValue = 0;
        bool scores = HasScores(r);
        int offset = _finite[r] * Classes;
        var probabilities = _probabilities;
        void Consider(int c)
        {
            if (c < 0 || c == label) return;
            double v = (1 - modelWeight) * (all > 0 ? _scratch[c] / all : 0) + (scores ? modelWeight * probabilities![offset + c] : 0);
            if (v > bestValue || (v == bestValue && best >= 0 && c < best)) { bestValue = v; best = c; }
        }
        // A class no neighbour voted for scores by the model alone, so only the model's best other can win among those.
        foreach (int c in _touched) Consider(c);
        if (scores)
            for (int t = 0; t < 3; t++)
                if (_top[r * 3 + t] is int c && c != label) { Consider(c); break; }
        return best;
    }

    /// <summary>
    /// The neighbours' (both directions) reliability-weighted votes per class into <c>_scratch</c>, the classes voted for
    /// in <c>_touched</c> (the rest are 0); returns the votes' total.
    /// </summary>
    double Votes(int r)
    {
        foreach (int c in _touched) _scratch[c] = 0;
        _touched.Clear();
        double all = 0;
        void Vote(int j)
        {
            int l = _labels[j];
            if (l < 0) return;
            if (!_voted[l]) { _voted[l] = true; _touched.Add(l); }
            _scratch[l] += _reliability[j];
            all += _reliability[j];
        }
        foreach (int j in _graph.NeighborsOf(r)) if (j >= 0) Vote(j);
        for (int t = _reverseStart[r]; t < _reverseStart[r + 1]; t++) Vote(_reverse[t]);
        foreach (int c in _touched) _voted[c] = false;
        return all;
    }

    /// <summary>
    /// A clear case: most of its k nearest neighbours carry <paramref name="perceived"/> and the model (its mean margin over
    /// a training, else its prediction) does not hold to the label. Otherwise the evidence is split: ambiguous.
    /// </summary>
    public bool Clear(int r, int label, int perceived)
    {
        if (Agreement(r, perceived, _graph.K) <= 0.5) return false;
        if (!HasScores(r) || Basis == LabelEvidenceBasis.Neighbours) return true;
        if (Basis == LabelEvidenceBasis.History && _meanMargin != null && double.IsFinite(_meanMargin[r]) && _labels[r] == label) return _meanMargin[r] < 0;
        return ArgMax(P(r)) == perceived;
    }

    /// <summary>
    /// The confident joint of the neighbours' weighted votes (Northcutt et al. 2021), calibrated: for each pair (label y,
    /// class j), about how many samples labelled y are of class j. A sample counts for the class with the most votes
    /// among those whose vote share reaches that class's mean share over its own samples; each label's row is then
    /// scaled to the label's sample count. For a model that has fitted its labels, whose probabilities cannot say.
    /// </summary>
    /// <returns>Per (label, class) with any count; absent pairs are 0.</returns>
    public Dictionary<(int Label, int Class), double> NeighbourJoint()
    {
        // Two passes over the sparse votes (a row votes for few classes): each class's mean share on its own samples, then
        // each sample's class.
        int rows = _labels.Length;
        var threshold = new double[Classes];
        var counts = new int[Classes];
        for (int r = 0; r < rows; r++)
        {
            int y = _labels[r];
            if (y < 0) continue;
            double all = Votes(r);
            threshold[y] += all > 0 ? _scratch[y] / all : 0;
            counts[y]++;
        }
        for (int c = 0; c < Classes; c++) threshold[c] = counts[c] > 0 ? threshold[c] / counts[c] : double.PositiveInfinity;
        var joint = new Dictionary<(int, int), double>();
        var rowSum = new double[Classes];
        for (int r = 0; r < rows; r++)
        {
            if (_labels[r] < 0) continue;
            double all = Votes(r);
            if (all <= 0) continue;
            int best = -1;
            foreach (int c in _touched)
            {
                double share = _scratch[c] / all;
                if (share > 0 && share >= threshold[c] && (best < 0 || share > _scratch[best] / all || (share == _scratch[best] / all && c < best))) best = c;
            }
            if (best < 0) continue;
            joint[(_labels[r], best)] = joint.GetValueOrDefault((_labels[r], best)) + 1;
            rowSum[_labels[r]]++;
        }
        return joint.ToDictionary(kv => kv.Key, kv => kv.Value / rowSum[kv.Key.Item1] * counts[kv.Key.Item1]);
    }

    /// <summary>What a card shows beside one sample: its score, its neighbours' labels, the model's view, the history's.</summary>
    public Dictionary<string, object> Describe(int r, double score, int perceived, bool clear, Func<int, string> name)
    {
        int y = _labels[r];
        var neighbours = new Dictionary<string, int>();
        foreach (int j in _graph.NeighborsOf(r))
            if (j >= 0 && _labels[j] >= 0) neighbours[name(_labels[j])] = neighbours.GetValueOrDefault(name(_labels[j])) + 1;
        var evidence = new Dictionary<string, object>
        {
            ["label_issue"] = Math.Round(score, 3), ["verdict"] = clear ? "clear" : "ambiguous",
            // Lists, not maps: class names such as "0" … "9" would be reordered by a reader's map.
            ["neighbors"] = neighbours.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new Dictionary<string, object> { ["class"] = kv.Key, ["count"] = kv.Value }).ToArray(),
        };
        if (HasScores(r))
            evidence["model"] = new Dictionary<string, object>
            {
                ["label"] = name(y), ["label_probability"] = Math.Round(P(r)[y], 3),
                ["perceived"] = name(perceived), ["perceived_probability"] = Math.Round(P(r)[perceived], 3),
            };
        if (_meanMargin != null && double.IsFinite(_meanMargin[r]))
        {
            var history = new Dictionary<string, double> { ["mean_margin"] = Math.Round(_meanMargin[r], 3) };
            if (double.IsFinite(_historyReliable![r])) history["mean_neighbor_agreement"] = Math.Round(_historyReliable[r], 3);
            if (_meanLabelProbability != null && double.IsFinite(_meanLabelProbability[r])) history["mean_probability_of_label"] = Math.Round(_meanLabelProbability[r], 3);
            evidence["history"] = history;
        }
        return evidence;
    }

    static int ArgMax(ReadOnlySpan<float> p) { int best = 0; for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c; return best; }

    static int ArgMaxExcept(ReadOnlySpan<float> p, int except) { int best = except == 0 ? 1 : 0; for (int c = 0; c < p.Length; c++) if (c != except && p[c] > p[best]) best = c; return best; }
}
