using Percept.Core;

namespace Percept.Tests.Core;

public class CpuTests
{
    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1\n", 2)]
    [InlineData("0-3,8,10-11", 7)]
    [InlineData("", 0)]
    [InlineData("3-1", 0)]
    [InlineData("x", 0)]
    public void A_linux_cpu_list_is_counted(string list, int count) => Assert.Equal(count, Cpu.CountCpuList(list));

    [Theory]
    [InlineData(0, 2, 2, 0)]   // all the machine's CPUs: ONNX Runtime's own default
    [InlineData(0, 1, 2, 1)]   // taskset -c 0 on two CPUs: one thread, which ONNX Runtime does not pin elsewhere
    [InlineData(0, 6, 64, 6)]
    [InlineData(3, 1, 2, 3)]   // asked for: as asked
    [InlineData(4, 8, 8, 4)]
    public void Onnx_runtime_gets_the_threads_asked_for_or_the_cpus_the_process_is_held_to(int requested, int usable, int online, int expected) =>
        Assert.Equal(expected, Cpu.IntraOpThreads(requested, usable, online));

    [Fact]
    public void The_machine_has_at_least_the_cpus_this_process_may_use() => Assert.True(Cpu.Online >= Environment.ProcessorCount);
}
