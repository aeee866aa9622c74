// The annual report's charts (ECharts); data and labels come from JSON blocks in templates/reports/annual.html.
(function () {
  const data = window.crmData('annual-charts');
  if (!data) return;
  const labels = window.crmData('annual-labels');
  const yi = v => Math.round(v) / 10000;
  const charts = [];
  function draw(id, option) {
    const el = document.getElementById(id);
    if (!el) return;
    const chart = echarts.init(el);
    chart.setOption(Object.assign({tooltip: {trigger: 'axis'}, grid: {left: 48, right: 48, top: 36, bottom: 28}, legend: {top: 0}}, option));
    charts.push(chart);
  }
  draw('chart-stages', {
    xAxis: {type: 'category', data: data.stages.map(s => s.name)},
    yAxis: [{type: 'value', name: labels.count, minInterval: 1}, {type: 'value'}],
    series: [{name: labels.count, type: 'bar', data: data.stages.map(s => s.count)},
             {name: labels.investment, type: 'line', yAxisIndex: 1, data: data.stages.map(s => yi(s.investment))}]
  });
  draw('chart-months', {
    xAxis: {type: 'category', data: data.months.map(m => m.month)},
    yAxis: {type: 'value'},
    series: [{name: labels.total, type: 'bar', data: data.months.map(m => yi(m.total))},
             {name: labels.oop, type: 'line', data: data.months.map(m => yi(m.oop))}]
  });
  draw('chart-counties', {
    grid: {left: 8, right: 8, top: 36, bottom: 8, containLabel: true},
    xAxis: {type: 'category', data: data.counties.map(c => c.name), axisLabel: {rotate: 30, formatter: v => v.length > 6 ? v.slice(0, 5) + '…' : v}},
    yAxis: [{type: 'value'}, {type: 'value', minInterval: 1}],
    series: [{name: labels.investment, type: 'bar', data: data.counties.map(c => yi(c.investment))},
             {name: labels.count, type: 'line', yAxisIndex: 1, data: data.counties.map(c => c.count)}]
  });
  draw('chart-levels', {
    tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}},
    grid: {left: 8, right: 24, top: 36, bottom: 8, containLabel: true},
    yAxis: {type: 'category', inverse: true, data: data.levels.map(l => l.name)},
    xAxis: {type: 'value', minInterval: 1},
    series: [{name: labels.leads, type: 'bar', data: data.levels.map(l => l.leads)},
             {name: labels.visits, type: 'bar', data: data.levels.map(l => l.visits)}]
  });
  // two value axes, each in its series' colour: investment (亿元) on top, project count at the bottom
  draw('chart-industries', {
    tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}},
    grid: {left: 8, right: 24, top: 56, bottom: 8, containLabel: true},
    yAxis: {type: 'category', inverse: true, data: data.industries.map(i => i.name)},
    xAxis: [{type: 'value', position: 'top', axisLabel: {color: '#5470c6'}},
            {type: 'value', position: 'bottom', minInterval: 1, axisLabel: {color: '#3ba272'}, splitLine: {show: false}}],
    series: [{name: labels.investment, type: 'bar', data: data.industries.map(i => yi(i.investment))},
             {name: labels.count, type: 'bar', xAxisIndex: 1, itemStyle: {color: '#3ba272'}, data: data.industries.map(i => i.count)}]
  });
  window.addEventListener('resize', () => charts.forEach(c => c.resize()));
})();
