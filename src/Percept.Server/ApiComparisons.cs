using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Percept.Comparison;

namespace Percept.Server;

/// <summary>Compare mode's endpoints: a run against another run of the same samples.</summary>
static partial class Api
{
    /// <summary>Compared pairs kept in memory (the comparison and per-sample changes of each): stepping through epochs keeps the last few.</summary>
    const int PairsKept = 4;

    static void MapComparisons(RouteGroupBuilder api, Func<string, RunEntry> find)
    {
        var pairs = new ComparedPairs(PairsKept);
        (CompareResult Result, SampleChangeSet Changes) Compared(string a, string b)
        {
            var ea = find(a); var eb = find(b);
            if (ea.Id == eb.Id) throw new ApiError(400, $"compare run '{a}' with another run, not with itself");
            return pairs.Get(ea, eb);
        }
        api.MapGet("/runs/{run}/compare/{other}", (string run, string other) => Compared(run, other).Result)
            .WithSummary("Run A against run B over the samples they share (matched by id): the comparison document (docs/compare.md), "
                + "the change categories and how many of A's samples fall in each. Two datasets (no shared id) are a 422: percept compare reports their domain gap.");
        api.MapGet("/runs/{run}/compare/{other}/columns", (string run, string other) =>
        {
            var c = Compared(run, other).Changes;
            int n = c.ToB.Length;
            var values = new float[n * 3];
            for (int i = 0; i < n; i++) { values[3 * i] = c.Change[i]; values[3 * i + 1] = c.Overlap[i]; values[3 * i + 2] = c.ToB[i]; }
            return Binary(values, n, 3);
        }).WithSummary("Per sample of A, little-endian float32, N × 3: its change (index into the categories), the share of its 10 nearest "
            + "neighbours kept in B (NaN: none), and its index in B (−1: not in B).");
        api.MapGet("/runs/{run}/compare/{other}/map", (string run, string other) =>
        {
            var m = Compared(run, other).Changes.AlignedMapB ?? throw new ApiError(404, "a side-by-side view needs both runs' 2-D maps");
            return Binary(m.Data, m.Rows, m.Columns);
        }).WithSummary("B's map rotated, scaled and moved onto A's over the shared samples: little-endian float32, B's samples × 2.");
    }

    /// <summary>
    /// The last few compared pairs, each computed once however many requests ask for it at the same time; a pair whose
    /// computation failed is forgotten, so the next request tries again (and reports its error).
    /// </summary>
    sealed class ComparedPairs(int kept)
    {
        readonly object _gate = new();
        readonly LinkedList<((string, string) Key, Lazy<(CompareResult, SampleChangeSet)> Value)> _recent = new();

        public (CompareResult Result, SampleChangeSet Changes) Get(RunEntry a, RunEntry b)
        {
            var key = (a.Id, b.Id);
            Lazy<(CompareResult, SampleChangeSet)> lazy;
            lock (_gate)
            {
                var node = _recent.First;
                while (node != null && node.Value.Key != key) node = node.Next;
                if (node != null) _recent.Remove(node);
                else node = new LinkedListNode<((string, string), Lazy<(CompareResult, SampleChangeSet)>)>((key, new(() => Compute(a, b))));
                _recent.AddFirst(node);
                while (_recent.Count > kept) _recent.RemoveLast();
                lazy = node.Value.Value;
            }
            try { return lazy.Value; }
            catch
            {
                lock (_gate)
                    for (var node = _recent.First; node != null; node = node.Next)
                        if (ReferenceEquals(node.Value.Value, lazy)) { _recent.Remove(node); break; }
                throw;
            }
        }

        static (CompareResult, SampleChangeSet) Compute(RunEntry a, RunEntry b)
        {
            var changes = SampleChanges.Compute(a.Run, b.Run);
            var doc = RunComparison.Compare(a.Run, b.Run, matching: SampleMatching.Samples);
            var counts = new int[SampleChanges.Categories.Count];
            foreach (int c in changes.Change) counts[c]++;
            using var json = System.Text.Json.JsonDocument.Parse(doc.ToJson());
            return (new CompareResult(a.Id, b.Id, SampleChanges.Categories, counts, SampleChanges.MovedBelow, json.RootElement.Clone()), changes);
        }
    }
}
