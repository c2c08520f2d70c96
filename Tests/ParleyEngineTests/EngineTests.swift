import ParleyEngine
import ParleyFlows
import Testing

@Test func engineKeepsItsFlowSet() {
    let engine = Engine(flows: FlowSet(flows: []))
    #expect(engine.flows.ids.isEmpty)
}
